import CPolybin

/// Where a fatbin keeps its payload, read from the ELF headers of a file that holds no valid
/// bundle: what tells a fatbin whose payload was stripped from one whose bundle header is
/// damaged, and both from a program that never had one.
enum PayloadPlace: Equatable {
    /// Not a fatbin: no runner in it.
    case none
    /// The runner is there, and the payload section (or, without section headers, the
    /// payload segment) is absent or empty: strip or objcopy removed it.
    case removed
    /// The runner and a non-empty payload section are there, but no bundle in it.
    case damaged

    /// Text only the fatbin runner holds (its message for a stripped payload), from the C
    /// layer, which keeps it out of polybin's own bytes.
    static let runnerMark: [UInt8] = {
        var mark = [UInt8](repeating: 0, count: Int(PB_RUNNER_MARK_MAX))
        let count = pb_runner_mark(&mark)
        return Array(mark.prefix(count))
    }()

    init(_ bytes: [UInt8]) {
        guard bytes.count >= 64, bytes.starts(with: [0x7F, 0x45, 0x4C, 0x46]), bytes[4] == 2, bytes[5] == 1,
              [2, 3].contains(bytes.le16(16)), LoadedBundle.contains(bytes, Self.runnerMark) else {
            self = .none
            return
        }
        if let section = Self.payloadSectionSize(bytes) {
            self = section > 0 ? .damaged : .removed
        } else if let segment = Self.payloadSegmentSize(bytes) {
            self = segment > 0 ? .damaged : .removed
        } else {
            self = .removed
        }
    }

    /// The size of the `.polybin` section; nil when the file has no section headers, 0 when
    /// it has them and none of that name (or one with no bytes in the file).
    static func payloadSectionSize(_ bytes: [UInt8]) -> UInt64? {
        let shoff = bytes.le64(0x28), size = Int(bytes.le16(0x3A)), count = Int(bytes.le16(0x3C)), names = Int(bytes.le16(0x3E))
        guard shoff > 0, size >= 64, count > 0, names < count, shoff <= UInt64(bytes.count),
              (UInt64(bytes.count) - shoff) / UInt64(size) >= UInt64(count) else { return nil }
        func header(_ i: Int) -> Int { Int(shoff) + i * size }
        let table = header(names), tableOffset = bytes.le64(table + 24), tableSize = bytes.le64(table + 32)
        guard tableOffset <= UInt64(bytes.count), UInt64(bytes.count) - tableOffset >= tableSize else { return nil }
        let wanted = Array(Fatbin.payloadSection.utf8) + [0]
        for i in 0..<count {
            let at = header(i), name = UInt64(bytes.le32(at))
            guard name < tableSize, tableSize - name >= UInt64(wanted.count) else { continue }
            let start = Int(tableOffset + name)
            guard Array(bytes[start..<start + wanted.count]) == wanted else { continue }
            let type = bytes.le32(at + 4)
            return type == 8 ? 0 : bytes.le64(at + 32)  // SHT_NOBITS holds nothing in the file
        }
        return 0
    }

    /// The file size of the PT_LOAD segment at the payload's address (0 when none).
    static func payloadSegmentSize(_ bytes: [UInt8]) -> UInt64? {
        let phoff = bytes.le64(0x20), size = Int(bytes.le16(0x36)), count = Int(bytes.le16(0x38))
        guard phoff > 0, size >= 56, phoff <= UInt64(bytes.count),
              (UInt64(bytes.count) - phoff) / UInt64(size) >= UInt64(count) else { return nil }
        for i in 0..<count {
            let at = Int(phoff) + i * size
            if bytes.le32(at) == 1 && bytes.le64(at + 16) == Fatbin.payloadAddress { return bytes.le64(at + 32) }
        }
        return 0
    }
}
