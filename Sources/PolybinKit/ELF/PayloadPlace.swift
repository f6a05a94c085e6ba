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
        guard let header = try? ELFFile.header(Array(bytes.prefix(64))),
              header.type == UInt16(PB_ET_EXEC) || header.type == UInt16(PB_ET_DYN),
              LoadedBundle.contains(bytes, Self.runnerMark) else {
            self = .none
            return
        }
        // Without usable section headers the payload segment tells; without either, the
        // runner alone is left.
        let size = bytes.withUnsafeBytes { Self.payloadSectionSize($0) ?? Self.payloadSegmentSize($0) } ?? 0
        self = size > 0 ? .damaged : .removed
    }

    /// The size of the `.polybin` section; nil when the file has no section headers or
    /// damaged ones, 0 when it has them and none of that name (or one with no bytes in the file).
    static func payloadSectionSize(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let elf = try? ELFFile(bytes, owner: nil), elf.sectionCount > 0 else { return nil }
        do {
            guard let section = try elf.section(named: Fatbin.payloadSection) else { return 0 }
            return section.holdsNoBytes ? 0 : section.size
        } catch {
            return nil
        }
    }

    /// The file size of the PT_LOAD segment at the payload's address (0 when none); nil when
    /// the file has no program headers or damaged ones.
    static func payloadSegmentSize(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard let elf = try? ELFFile(bytes, owner: nil, segmentsOnly: true), elf.segmentCount > 0 else { return nil }
        let load = elf.segments().first { $0.type == UInt32(PB_PT_LOAD) && $0.address == Fatbin.payloadAddress }
        return load?.fileSize ?? 0
    }
}
