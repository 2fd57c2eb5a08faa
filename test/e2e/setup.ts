/**
 * Setup file of the e2e project (vitest.config.ts): when a test fails, what each worker process (the cache worker
 * under Miniflare, or `wrangler dev`) printed during that test is logged with it. vitest shows a test's logs only
 * when it fails, so a green run stays quiet.
 */
import { beforeEach } from "vitest";
import { outputMarks, outputSince } from "./harness";

beforeEach(({ onTestFailed }) => {
  const marks = outputMarks();
  onTestFailed(() => {
    const report = outputSince(marks);
    if (report) console.error(report);
  });
});
