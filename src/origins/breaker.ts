/**
 * A small circuit breaker per origin and isolate: after `failures` consecutive failures the origin is skipped for
 * `cooldownMs`, then one request is let through to probe it. A dead origin then costs one timeout per cooldown,
 * not one per miss. A probe whose request never reports back (it died, or its body was abandoned) is given up after
 * another `cooldownMs`, and the next request probes again: without that deadline the origin would be skipped forever
 * in this isolate (docs/request-flow.md, step 6).
 */
export interface BreakerSettings {
  failures: number;
  cooldownMs: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { failures: 3, cooldownMs: 30_000 };

export type BreakerState = "closed" | "open" | "half-open";

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private probeStartedAt: number | undefined;

  constructor(private readonly settings: BreakerSettings) {}

  state(now = Date.now()): BreakerState {
    if (this.openedAt === undefined) return "closed";
    return now - this.openedAt >= this.settings.cooldownMs ? "half-open" : "open";
  }

  /** Whether a request may go to the origin now; in half-open state only one probe at a time. */
  allow(now = Date.now()): boolean {
    const state = this.state(now);
    if (state === "closed") return true;
    if (state === "open") return false;
    if (this.probeStartedAt !== undefined && now - this.probeStartedAt < this.settings.cooldownMs) return false;
    this.probeStartedAt = now;
    return true;
  }

  success(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probeStartedAt = undefined;
  }

  failure(now = Date.now()): void {
    this.consecutiveFailures += 1;
    if (this.probeStartedAt !== undefined || this.consecutiveFailures >= this.settings.failures) this.openedAt = now;
    this.probeStartedAt = undefined;
  }
}
