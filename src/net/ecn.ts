/**
 * ECN congestion marking (RFC 3168): what fq_codel does instead of dropping a packet that
 * says it can take a mark. A frame is Ethernet + IPv4 or IPv6; ECT(0) or ECT(1) in the IP
 * header's ECN field becomes CE (11); IPv4's header checksum is updated incrementally
 * (RFC 1624: HC' = ~(~HC + ~m + m')). Anything else is left alone and reported unmarked.
 */
import { ETH_P } from '../tc/model.js';
import { ETH_HEADER } from './device.js';

const ECN_MASK = 0x03;
const ECN_CE = 0x03;

/** Sets CE on an ECN-capable IPv4/IPv6 frame at bytes[off..off+len); false if it is not one (or is CE already). */
export function markCongestion(bytes: Uint8Array, off: number, len: number): boolean {
  if (len < ETH_HEADER + 20) return false;
  const proto = (bytes[off + 12] << 8) | bytes[off + 13];
  const ip = off + ETH_HEADER;
  if (proto === ETH_P.ip && bytes[ip] >> 4 === 4) {
    const tos = bytes[ip + 1];
    const ecn = tos & ECN_MASK;
    if (ecn === 0 || ecn === ECN_CE) return false;
    const marked = tos | ECN_CE;
    bytes[ip + 1] = marked;
    // The 16-bit word holding TOS is (version/IHL << 8 | TOS).
    const oldWord = (bytes[ip] << 8) | tos;
    const newWord = (bytes[ip] << 8) | marked;
    let sum = (~((bytes[ip + 10] << 8) | bytes[ip + 11]) & 0xffff) + (~oldWord & 0xffff) + newWord;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const csum = ~sum & 0xffff;
    bytes[ip + 10] = csum >>> 8;
    bytes[ip + 11] = csum & 0xff;
    return true;
  }
  if (proto === ETH_P.ipv6 && len >= ETH_HEADER + 40 && bytes[ip] >> 4 === 6) {
    // Traffic class straddles bytes 0 and 1; its ECN bits are bits 5..4 of byte 1.
    const ecn = (bytes[ip + 1] >> 4) & ECN_MASK;
    if (ecn === 0 || ecn === ECN_CE) return false;
    bytes[ip + 1] |= ECN_CE << 4;
    return true;
  }
  return false;
}
