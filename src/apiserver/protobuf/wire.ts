/**
 * The protobuf wire format, read only: varints, length-delimited payloads and skipping of the
 * fixed-width kinds. Every read is bounds-checked; a malformed body throws WireError, which the
 * caller turns into a 400.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export class WireError extends Error {}

const TWO_63 = 1n << 63n;
const TWO_64 = 1n << 64n;

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint of up to 64 bits. */
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('unexpected end of data in a varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result & (TWO_64 - 1n);
      shift += 7n;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** A varint read as a signed 64-bit integer (how int32 and int64 are written), as a number. */
  int64(): number {
    let v = this.varint();
    if (v >= TWO_63) v -= TWO_64;
    return Number(v);
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }

  /** A field's tag: number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    const field = Number(t >> 3n);
    if (field === 0 || field > 0x1fffffff) throw new WireError(`invalid field number ${field}`);
    return { field, wire: Number(t & 7n) };
  }

  /** A length-delimited payload's bounds: [start, end). */
  bytes(): [number, number] {
    const len = this.varint();
    if (len > BigInt(this.end - this.pos)) throw new WireError('length-delimited field runs past the end of its message');
    const start = this.pos;
    this.pos += Number(len);
    return [start, this.pos];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new WireError(`unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw new WireError('unexpected end of data');
    this.pos += n;
  }
}
