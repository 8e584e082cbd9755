/**
 * tc's failures and exit statuses, which scripts test: 1 for a bad argument (tc's "What is
 * ...?", "Illegal ..."), 2 for a change the system refuses (tc's "RTNETLINK answers: ..."
 * and "Error: ..." from the kernel), 255 for a bad handle or a duplicate argument (tc's
 * `invarg`/`duparg`, which exit(-1)). The message is tc's wording where tc has one.
 */
import { PspatError } from '../errors.js';

export const TC_EXIT_BAD_ARG = 1;
export const TC_EXIT_REJECTED = 2;
export const TC_EXIT_BAD_HANDLE = 255;

export class TcError extends PspatError {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(exitCode === TC_EXIT_REJECTED ? 'ERR_PSPAT_TC_REJECTED' : 'ERR_PSPAT_TC_ARGUMENT', message);
  }
}

export function badArg(message: string): TcError {
  return new TcError(TC_EXIT_BAD_ARG, message);
}

export function duplicateArg(key: string, value: string): TcError {
  return new TcError(TC_EXIT_BAD_HANDLE, `Error: duplicate "${key}": "${value}" is the second value.`);
}

export function invalidArg(value: string, why: string): TcError {
  return new TcError(TC_EXIT_BAD_HANDLE, `Error: argument "${value}" is wrong: ${why}`);
}

/** tc's unknown-keyword message. */
export function whatIs(word: string): TcError {
  return badArg(`What is "${word}"?`);
}
