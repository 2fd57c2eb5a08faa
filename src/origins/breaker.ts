/**
 * A small circuit breaker per origin and isolate: after `failures` consecutive failures the origin is skipped for
 * `cooldownMs`, then one request is let through to probe it. A dead origin then costs one timeout per cooldown,
 * not one per miss.
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
  private probing = false;

  constructor(private readonly settings: BreakerSettings) {}

  state(now = Date.now()): BreakerState {
    if (this.openedAt === undefined) return "closed";
    return now - this.openedAt >= this.settings.cooldownMs ? "half-open" : "open";
  }

  /** Whether a request may go to the origin now; in half-open state only one probe at a time. */
  allow(now = Date.now()): boolean {
    const state = this.state(now);
    if (state === "closed") return true;
    if (state === "open" || this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  failure(now = Date.now()): void {
    this.consecutiveFailures += 1;
    if (this.probing || this.consecutiveFailures >= this.settings.failures) this.openedAt = now;
    this.probing = false;
  }
}
