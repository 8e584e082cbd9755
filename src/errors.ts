/**
 * Errors thrown at the edge (configuration, set-up, CLI). The hot path never throws: it
 * returns verdicts and bumps counters. Every error carries a stable `code` so callers and
 * tests can branch on it without parsing messages, and a message that names the field and
 * the bad value.
 */

/** Base class of every error pspat-ts throws on purpose. */
export class PspatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option or parameter has a bad value; `field` names it as the user wrote it. */
export class InvalidOptionError extends PspatError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super('ERR_PSPAT_INVALID_OPTION', `${field}: ${detail}`);
  }
}

/** A state change the running system refuses (unknown class, duplicate id, closed link). */
export class RejectedChangeError extends PspatError {
  constructor(detail: string) {
    super('ERR_PSPAT_REJECTED', detail);
  }
}

/** A worker thread failed to start or died; the message says which and why. */
export class WorkerFailedError extends PspatError {
  constructor(detail: string) {
    super('ERR_PSPAT_WORKER', detail);
  }
}
