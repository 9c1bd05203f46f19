package import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension UUID {
    /// A random (version 4, RFC 9562) UUID from the C library's `arc4random_buf`: a
    /// ChaCha20 generator seeded and reseeded from the kernel (`getrandom`), in process.
    ///
    /// `UUID()` on Linux opened and read `/dev/urandom` for every id, and
    /// `SystemRandomNumberGenerator` makes one `getrandom` system call per 8 bytes: with a few
    /// ids per bridged event either was a system call or more per id on the hot path.
    package static func random() -> UUID {
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { arc4random_buf($0.baseAddress!, $0.count) }
        bytes.6 = bytes.6 & 0x0F | 0x40  // version 4
        bytes.8 = bytes.8 & 0x3F | 0x80  // variant 10
        return UUID(uuid: bytes)
    }

    /// The canonical text in lower case (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`), as ids are
    /// written on the wire.
    package var lowercaseString: String {
        let digits = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var index = 0
                for (position, byte) in bytes.enumerated() {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = digits[Int(byte >> 4)]
                    buffer[index + 1] = digits[Int(byte & 0x0F)]
                    index += 2
                }
                return index
            }
        }
    }
}
