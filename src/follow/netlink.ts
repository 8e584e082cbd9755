/**
 * Route netlink for follow mode, parsed here rather than with libmnl or libnl in the
 * addon: tc's messages are a fixed header and a tree of attributes, a few dozen lines to
 * read in TypeScript, while every option's meaning (units, defaults, what tc would print)
 * lives in the TypeScript tc model already. The addon only owns the socket
 * (native/src/netlink.cc).
 *
 * Layouts: linux/netlink.h (nlmsghdr, nlattr), linux/rtnetlink.h (tcmsg, RTM_*),
 * linux/pkt_sched.h and linux/pkt_cls.h (each kind's options).
 */
import { PspatError } from '../errors.js';
import { nativeAddon } from '../transmit/native.js';
import { errnoName } from '../errno.js';
import { align4, parseAttrs, type Attrs } from '../tc/netlink-attrs.js';

export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTCLASS = 40;
export const RTM_DELTCLASS = 41;
export const RTM_GETTCLASS = 42;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
/** The legacy multicast bits of RTNLGRP_LINK and RTNLGRP_TC. */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_TC = 0x8;
const TCMSG_LEN = 20;
const NLMSG_HDR = 16;
const ENOBUFS = -105;

export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;

/**
 * A tc message: its tcmsg header and attributes (TCA_*). A link message (ifinfomsg) reads
 * as one too, with its ifindex where tcmsg has it, and nothing else meant.
 */
export interface TcMessage {
  type: number;
  ifindex: number;
  handle: number;
  parent: number;
  /** Filters: their priority and ethertype (tcm_info's halves). */
  prio: number;
  protocol: number;
  attrs: Attrs;
}

export class NetlinkError extends PspatError {
  constructor(message: string) {
    super('ERR_PSPAT_NETLINK', message);
  }
}

/**
 * Messages in one datagram. Errors in it throw (a dump that failed); `done` says a
 * multipart dump ended.
 */
function parseDatagram(bytes: Uint8Array, out: TcMessage[]): { done: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let done = false;
  for (let at = 0; at + NLMSG_HDR <= view.byteLength; ) {
    const len = view.getUint32(at, true);
    const type = view.getUint16(at + 4, true);
    if (len < NLMSG_HDR || at + len > view.byteLength) break;
    if (type === NLMSG_DONE) done = true;
    else if (type === NLMSG_ERROR) {
      const err = view.getInt32(at + NLMSG_HDR, true);
      if (err !== 0) throw new NetlinkError(`the kernel refused a tc dump (${errnoName(err)})`);
      done = true;
    } else if (len >= NLMSG_HDR + TCMSG_LEN) {
      const h = at + NLMSG_HDR;
      const info = view.getUint32(h + 16, true);
      out.push({
        type,
        ifindex: view.getInt32(h + 4, true),
        handle: view.getUint32(h + 8, true),
        parent: view.getUint32(h + 12, true),
        prio: info >>> 16,
        protocol: ((info & 0xff) << 8) | ((info >> 8) & 0xff), // network order in the word
        attrs: parseAttrs(new DataView(view.buffer, view.byteOffset + h + TCMSG_LEN, len - NLMSG_HDR - TCMSG_LEN)),
      });
    }
    at += align4(len);
  }
  return { done };
}

/** A route netlink socket: dumps on request, and (joined to RTNLGRP_TC) the kernel's tc changes as they happen. */
export class TcNetlink {
  private readonly fd: number;
  private readonly buf = new Uint8Array(1 << 20);
  private seq = 0;

  constructor(groups: number) {
    const fd = nativeAddon().netlinkOpen(groups, 4 << 20);
    if (fd < 0) throw new NetlinkError(`cannot open a route netlink socket (${errnoName(fd)})`);
    this.fd = fd;
  }

  /** Every message of a dump of `type` (RTM_GET*) for device `ifindex` under `parent` (filters). */
  dump(type: number, ifindex: number, parent = 0): TcMessage[] {
    const req = new DataView(new ArrayBuffer(NLMSG_HDR + TCMSG_LEN));
    req.setUint32(0, req.byteLength, true);
    req.setUint16(4, type, true);
    req.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
    req.setUint32(8, ++this.seq, true);
    req.setInt32(NLMSG_HDR + 4, ifindex, true);
    req.setUint32(NLMSG_HDR + 12, parent, true);
    const addon = nativeAddon();
    const sent = addon.netlinkSend(this.fd, new Uint8Array(req.buffer));
    if (sent < 0) throw new NetlinkError(`cannot ask the kernel for its tc configuration (${errnoName(sent)})`);
    const out: TcMessage[] = [];
    for (;;) {
      // The kernel answers a dump at once; a second without a reply is a broken socket.
      const n = addon.netlinkRecv(this.fd, this.buf, 1000);
      if (n < 0) throw new NetlinkError(`reading the kernel's tc configuration failed (${errnoName(n)})`);
      if (n === 0) throw new NetlinkError('the kernel did not finish a tc dump within a second');
      // A copy: the messages' attributes are views into it, and the buffer is read into again.
      if (parseDatagram(this.buf.slice(0, n), out).done) return out.filter((m) => m.ifindex === ifindex);
    }
  }

  /**
   * The changes announced since the last call (without waiting), or 'lost' when the
   * socket's buffer overflowed and some were dropped (the caller dumps everything again).
   */
  changes(): TcMessage[] | 'lost' {
    const addon = nativeAddon();
    const out: TcMessage[] = [];
    for (;;) {
      const n = addon.netlinkRecv(this.fd, this.buf, 0);
      if (n === ENOBUFS) return 'lost';
      if (n < 0) throw new NetlinkError(`reading tc changes failed (${errnoName(n)})`);
      if (n === 0) return out;
      parseDatagram(this.buf.slice(0, n), out);
    }
  }

  close(): void {
    nativeAddon().closeFd(this.fd);
  }
}
