import { describe, expect, it } from "vitest";
import { CircuitBreaker, type BreakerState } from "../../src/origins/breaker";

// A breaker that opens after 2 consecutive failures and stays open 1000 ms. Steps run in order on one breaker;
// `at` is the clock each step passes in.
type Step = { do: "failure" | "success"; at: number } | { allow: boolean; at: number; state: BreakerState };

const SETTINGS = { failures: 2, cooldownMs: 1000 };

describe("CircuitBreaker", () => {
  it.each([
    [
      "closed until `failures` consecutive failures, then open",
      [
        { allow: true, at: 0, state: "closed" },
        { do: "failure", at: 0 },
        { allow: true, at: 1, state: "closed" },
        { do: "failure", at: 10 },
        { allow: false, at: 11, state: "open" },
        { allow: false, at: 1009, state: "open" },
      ],
    ],
    [
      "a success in between resets the count",
      [
        { do: "failure", at: 0 },
        { do: "success", at: 1 },
        { do: "failure", at: 2 },
        { allow: true, at: 3, state: "closed" },
      ],
    ],
    [
      "after the cooldown, exactly one probe goes through",
      [
        { do: "failure", at: 0 },
        { do: "failure", at: 0 },
        { allow: true, at: 1000, state: "half-open" },
        { allow: false, at: 1001, state: "half-open" },
        { allow: false, at: 1999, state: "half-open" },
      ],
    ],
    [
      "a probe that never settles is given up after another cooldown, and the next request probes",
      [
        { do: "failure", at: 0 },
        { do: "failure", at: 0 },
        { allow: true, at: 1000, state: "half-open" },
        { allow: false, at: 1999, state: "half-open" },
        { allow: true, at: 2000, state: "half-open" },
        { allow: false, at: 2001, state: "half-open" },
      ],
    ],
    [
      "a probe that succeeds closes it",
      [
        { do: "failure", at: 0 },
        { do: "failure", at: 0 },
        { allow: true, at: 1000, state: "half-open" },
        { do: "success", at: 1001 },
        { allow: true, at: 1002, state: "closed" },
        { allow: true, at: 1003, state: "closed" },
        // The count starts again from zero.
        { do: "failure", at: 1004 },
        { allow: true, at: 1005, state: "closed" },
      ],
    ],
    [
      "a probe that fails opens it again for a whole cooldown, after a single failure",
      [
        { do: "failure", at: 0 },
        { do: "failure", at: 0 },
        { allow: true, at: 1000, state: "half-open" },
        { do: "failure", at: 1500 },
        { allow: false, at: 2499, state: "open" },
        { allow: true, at: 2500, state: "half-open" },
      ],
    ],
  ] as [string, Step[]][])("%s", (_name, steps) => {
    const breaker = new CircuitBreaker(SETTINGS);
    for (const [i, step] of steps.entries()) {
      if ("do" in step) {
        if (step.do === "failure") breaker.failure(step.at);
        else breaker.success();
        continue;
      }
      expect(breaker.state(step.at), `step ${i}: state at ${step.at}`).toBe(step.state);
      expect(breaker.allow(step.at), `step ${i}: allow at ${step.at}`).toBe(step.allow);
    }
  });

  it.each([
    [1, 1],
    [3, 3],
    [5, 5],
  ])("with failures = %i it opens on failure number %i", (failures, opensAfter) => {
    const breaker = new CircuitBreaker({ failures, cooldownMs: 1000 });
    for (let i = 1; i < opensAfter; i++) {
      breaker.failure(0);
      expect(breaker.state(0)).toBe("closed");
    }
    breaker.failure(0);
    expect(breaker.state(0)).toBe("open");
  });
});
