package import Foundation

extension UUID {
    /// A random (version 4, RFC 9562) UUID from the kernel's generator (`SecureRandomBytes`).
    ///
    /// `UUID()` on Linux opened and read `/dev/urandom` for every id, and
    /// `SystemRandomNumberGenerator` makes one `getrandom` system call per 8 bytes: with a few
    /// ids per bridged event either was a system call or more per id on the hot path.
    package static func random() -> UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { SecureRandomBytes.fill($0) }
        bytes.6 = bytes.6 & 0x0F | 0x40  // version 4
        bytes.8 = bytes.8 & 0x3F | 0x80  // variant 10
        return UUID(uuid: bytes)
    }

    /// A time-ordered (version 7, RFC 9562 §5.7) UUID: the first 48 bits are `date` in Unix
    /// milliseconds, the other 74 (besides version and variant) random, from the same generator
    /// as `random()`.
    ///
    /// The bridge mints one per disclosure, and the disclosure id is a primary key. Random ids
    /// land on a different page of that index for every insert, so each batch's commit wrote a
    /// page per disclosure to the WAL (and the checkpoint copied it again); ids that grow with
    /// time append to the index's last pages. What the time prefix tells a recipient, the hour
    /// and millisecond the bridge decided, is what the copy's own delivery tells it anyway.
    package static func timeOrdered(at date: Date) -> UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { SecureRandomBytes.fill(UnsafeMutableRawBufferPointer(rebasing: $0[6...])) }
        let milliseconds = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        bytes.0 = UInt8(truncatingIfNeeded: milliseconds >> 40)
        bytes.1 = UInt8(truncatingIfNeeded: milliseconds >> 32)
        bytes.2 = UInt8(truncatingIfNeeded: milliseconds >> 24)
        bytes.3 = UInt8(truncatingIfNeeded: milliseconds >> 16)
        bytes.4 = UInt8(truncatingIfNeeded: milliseconds >> 8)
        bytes.5 = UInt8(truncatingIfNeeded: milliseconds)
        bytes.6 = bytes.6 & 0x0F | 0x70  // version 7
        bytes.8 = bytes.8 & 0x3F | 0x80  // variant 10
        return UUID(uuid: bytes)
    }

    /// The canonical text in lower case (`xxxxxxxx-xxxx-Vxxx-yxxx-xxxxxxxxxxxx`, V the version), as ids are
    /// written on the wire.
    package var lowercaseString: String {
        withUnsafeBytes(of: uuid) { Self.lowercaseText(of: $0) }
    }

    /// The canonical lowercase text of a UUID's 16 bytes, written straight into the string (one
    /// allocation). Also what the consent view's compact form reads its consent ids with.
    package static func lowercaseText(of bytes: some Sequence<UInt8>) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for (position, byte) in bytes.enumerated() {
                if position == 4 || position == 6 || position == 8 || position == 10 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                buffer[index] = lowercaseHexDigit(byte >> 4)
                buffer[index + 1] = lowercaseHexDigit(byte & 0x0F)
                index += 2
            }
            return index
        }
    }
}

/// The lowercase hexadecimal digit of `value` (0–15): ids and case references are written with it.
func lowercaseHexDigit(_ value: UInt8) -> UInt8 {
    value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
}
