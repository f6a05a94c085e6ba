/// `value` rounded up to a multiple of `alignment`.
func align(_ value: UInt64, _ alignment: Int) -> UInt64 {
    let a = UInt64(alignment)
    return (value + a - 1) / a * a
}

/// The bundle format and ELF both store integers little-endian.
extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
