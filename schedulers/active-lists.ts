/**
 * Circular lists of active (backlogged) class slots, several lists sharing one `next`
 * array: DRR keeps its round in list 0, prio one list per band. Each list is named by its
 * tail; the head is the tail's successor, so append, rotate and pop-head are O(1).
 *
 *   next[c]   successor of class c in its list; -1 when c is in no list
 *   tail[l]   last class of list l; -1 when the list is empty
 */
export class ActiveLists {
  private readonly next: Int32Array;
  private readonly tail: Int32Array;

  constructor(maxClasses: number, lists: number) {
    this.next = new Int32Array(maxClasses).fill(-1);
    this.tail = new Int32Array(lists).fill(-1);
  }

  isActive(c: number): boolean {
    return this.next[c] >= 0;
  }

  isEmpty(list: number): boolean {
    return this.tail[list] < 0;
  }

  /** First class of `list`; the list must not be empty. */
  head(list: number): number {
    return this.next[this.tail[list]];
  }

  append(list: number, c: number): void {
    const t = this.tail[list];
    if (t < 0) {
      this.next[c] = c;
    } else {
      this.next[c] = this.next[t];
      this.next[t] = c;
    }
    this.tail[list] = c;
  }

  /** Moves the head to the tail (the head's turn is over). */
  rotate(list: number): void {
    this.tail[list] = this.next[this.tail[list]];
  }

  /** Removes `c` from `list`: O(1) for the head, O(length) otherwise (class deletion). */
  remove(list: number, c: number): void {
    if (this.next[c] === c) {
      this.tail[list] = -1;
    } else {
      let prev = this.tail[list];
      while (this.next[prev] !== c) prev = this.next[prev];
      this.next[prev] = this.next[c];
      if (this.tail[list] === c) this.tail[list] = prev;
    }
    this.next[c] = -1;
  }
}
