/// `/etc/ld.so.cache`, as glibc's loader reads it (glibc `sysdeps/generic/dl-cache.h`): the
/// "glibc-ld.so.cache1.1" table, alone (glibc 2.32 and later) or after the old "ld.so-1.7.0"
/// table. Entries are 24 bytes (flags, key, value, osversion, hwcap); key and value are
/// offsets of the soname and the path, counted from the new table's header.
///
/// Every offset is checked against the bytes present: a damaged cache gives fewer entries,
/// never a crash (the loader then falls back to its default directories, and so does the audit).
public struct LoaderCache: Sendable {
    public struct Entry: Equatable, Sendable {
        public var soname: String
        public var path: String
        /// The library's kind and ABI: 0x0303 is an x86-64 glibc library, 0x0a03 an aarch64 one.
        public var flags: Int32
        public var hwcap: UInt64
    }

    public var entries: [Entry]

    public static let path = "/etc/ld.so.cache"
    static let oldMagic = Array("ld.so-1.7.0".utf8)
    static let newMagic = Array("glibc-ld.so.cache1.1".utf8)
    static let headerSize = 48, entrySize = 24

    /// The flags ldconfig gives a library of `arch` (FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 or
    /// FLAG_AARCH64_LIB64, glibc `elf/cache.c`).
    public static func flags(for arch: Architecture) -> Int32 {
        switch arch {
        case .x86_64: 0x0303
        case .aarch64: 0x0a03
        }
    }

    /// This machine's cache; empty when it is missing or unreadable.
    public static func system() -> LoaderCache {
        guard let bytes = try? Files.read(path) else { return LoaderCache(entries: []) }
        return LoaderCache(bytes)
    }

    public init(entries: [Entry]) { self.entries = entries }

    public init(_ bytes: [UInt8]) {
        entries = []
        var start = 0
        if bytes.starts(with: Self.oldMagic) {
            // The old table: magic (11 bytes), nlibs, 12-byte entries; the new one follows, 8-aligned.
            guard let count = Self.u32(bytes, 11) else { return }
            let end = 15 + Int(count) * 12
            start = (end + 7) & ~7
        }
        guard start >= 0, start + Self.headerSize <= bytes.count,
              Array(bytes[start..<start + Self.newMagic.count]) == Self.newMagic,
              let count = Self.u32(bytes, start + 20) else { return }
        for index in 0..<Int(count) {
            let at = start + Self.headerSize + index * Self.entrySize
            guard at + Self.entrySize <= bytes.count, let flags = Self.u32(bytes, at), let key = Self.u32(bytes, at + 4),
                  let value = Self.u32(bytes, at + 8), let hwcap = Self.u64(bytes, at + 16),
                  let soname = Self.string(bytes, start + Int(key)), let path = Self.string(bytes, start + Int(value))
            else { break }
            entries.append(Entry(soname: soname, path: path, flags: Int32(bitPattern: flags), hwcap: hwcap))
        }
    }

    /// The path the loader takes for `soname` and `arch`: the first entry of that ABI without
    /// an hwcap subdirectory requirement.
    public func path(of soname: String, arch: Architecture) -> String? {
        let flags = Self.flags(for: arch)
        return entries.first { $0.soname == soname && $0.flags == flags && $0.hwcap == 0 }?.path
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= bytes.count else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }

    static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64? {
        guard let low = u32(bytes, at), let high = u32(bytes, at + 4) else { return nil }
        return UInt64(low) | UInt64(high) << 32
    }

    static func string(_ bytes: [UInt8], _ at: Int) -> String? {
        guard at >= 0, at < bytes.count, let end = bytes[at...].firstIndex(of: 0) else { return nil }
        return String(decoding: bytes[at..<end], as: UTF8.self)
    }
}
