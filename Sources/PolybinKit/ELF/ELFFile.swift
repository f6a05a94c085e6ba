import CPolybin

/// An ELF64 little-endian file read in place through the one ELF reader, C's `pb_elf`
/// (CSupport/CPolybin/include/pb_elf.h), which checks every offset, size, count and string
/// index against the bytes present. The bytes are an array's copy or a mapped file (a payload
/// object of hundreds of MB is read without being loaded), kept alive by this object.
///
/// A failure is an `ELFFile.Failure`: the reader's status and a one-line reason without the
/// file name ("section 5 (.text) lies past the end of the file"), which the caller adds.
package final class ELFFile {
    package struct Failure: Error, CustomStringConvertible, Equatable {
        package let status: pb_elf_status
        package let reason: String
        package var description: String { reason }
    }

    package struct Section: Equatable {
        package var index: Int
        package var name: String
        package var type: UInt32
        package var flags: UInt64
        package var address: UInt64
        package var offset: UInt64
        package var size: UInt64
        package var link: UInt32
        package var info: UInt32
        package var alignment: UInt64
        package var entrySize: UInt64
        /// SHT_NOBITS: `size` is memory only, the file holds none of it.
        package var holdsNoBytes: Bool { type == UInt32(PB_SHT_NOBITS) }
    }

    package struct Segment: Equatable {
        package var index: Int
        package var type: UInt32
        package var flags: UInt32
        package var offset: UInt64
        package var address: UInt64
        package var fileSize: UInt64
        package var memorySize: UInt64
        package var alignment: UInt64
        /// Whether its `fileSize` bytes at `offset` lie inside the file.
        package var inFile: Bool
    }

    package struct Symbol: Equatable {
        package var index: Int
        package var name: String
        /// STT_*: 10 is STT_GNU_IFUNC.
        package var type: UInt8
        package var bind: UInt8
        /// st_shndx: 0 undefined, 0xfff1 absolute, else a section index.
        package var section: UInt16
        package var value: UInt64
        package var size: UInt64
        /// The version name `.gnu.version` gives a dynamic symbol ("GLIBC_2.34"), nil for
        /// local and global ones and outside `.dynsym`.
        package var version: String?
        /// Its `.gnu.version` index (hidden bit stripped): what a `VersionNeed.index` names, so
        /// that GLIBC_2.2.5 of libm and of libc are told apart. 0 outside `.dynsym`.
        package var versionIndex: UInt16 = 0
    }

    package struct VersionNeed: Equatable {
        package var library: String
        package var version: String
        package var index: UInt16
    }

    package struct Dynamic: Equatable {
        package var needed: [String] = []
        package var soname: String?
        package var rpath: String?
        package var runpath: String?
        package var flags1: UInt64 = 0
        package var isPIE: Bool { flags1 & UInt64(PB_DF_1_PIE) != 0 }
    }

    package struct Relocation: Equatable {
        package var offset: UInt64
        package var type: UInt32
        package var symbol: UInt32
        package var addend: Int64
    }

    package struct GNUNotes: Equatable {
        /// The minimum kernel of NT_GNU_ABI_TAG: [3, 2, 0].
        package var minimumKernel: [UInt32]?
        package var buildID: [UInt8]?
        /// GNU_PROPERTY_X86_ISA_1_NEEDED: bit 0 baseline, 1 x86-64-v2, 2 v3, 3 v4.
        package var x86ISANeeded: UInt32?
        package var x86ISAUsed: UInt32?
    }

    package struct FDE: Equatable {
        package var offset: UInt64
        package var start: UInt64
        package var size: UInt64
        package var augmentation: String
        package var lsda: UInt64
    }

    package struct FunctionTable {
        package struct Problem: Equatable {
            package var kind: pb_elf_frame_problem_kind
            package var fde: UInt64
            package var start: UInt64
            package var size: UInt64
        }
        /// (start, size) of every FDE, sorted by start.
        package var functions: [pb_elf_function]
        package var problems: [Problem]
    }

    private let elf: UnsafeMutablePointer<pb_elf>
    package let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject?

    /// `bytes`, valid while `owner` lives. `segmentsOnly` ignores the section headers (a file
    /// whose section headers may be gone or damaged).
    package init(_ bytes: UnsafeRawBufferPointer, owner: AnyObject?, segmentsOnly: Bool = false) throws {
        self.bytes = bytes
        self.owner = owner
        elf = .allocate(capacity: 1)
        let status = pb_elf_open(elf, bytes.baseAddress, UInt64(bytes.count), segmentsOnly ? UInt32(PB_ELF_OPEN_SEGMENTS_ONLY) : 0)
        // deinit runs for an initializer that throws here, and frees `elf`.
        guard status == PB_ELF_OK else { throw Failure(status: status, reason: Self.reason(elf)) }
    }

    /// A mapped file, read where it lies.
    package convenience init(_ file: MappedFile, segmentsOnly: Bool = false) throws {
        try self.init(file.bytes, owner: file, segmentsOnly: segmentsOnly)
    }

    /// An array's bytes, copied once.
    package convenience init(copying array: [UInt8], segmentsOnly: Bool = false) throws {
        let storage = ByteStorage(array)
        try self.init(storage.bytes, owner: storage, segmentsOnly: segmentsOnly)
    }

    deinit { elf.deallocate() }

    /// The ELF header alone, from the first 64 bytes (a prefix of the file is enough).
    package static func header(_ prefix: [UInt8]) throws -> pb_elf_header {
        var header = pb_elf_header()
        var reason = [CChar](repeating: 0, count: 160)
        let status = prefix.withUnsafeBytes { pb_elf_read_header(&header, $0.baseAddress, UInt64($0.count), &reason, reason.count) }
        guard status == PB_ELF_OK else {
            throw Failure(status: status, reason: String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return header
    }

    package var header: pb_elf_header { elf.pointee.header }
    package var sectionCount: Int { Int(elf.pointee.section_count) }
    package var segmentCount: Int { Int(elf.pointee.segment_count) }
    package var sectionNamesIndex: Int { Int(elf.pointee.section_names) }

    private static func reason(_ elf: UnsafeMutablePointer<pb_elf>) -> String {
        withUnsafeBytes(of: elf.pointee.reason) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private func check(_ status: pb_elf_status) throws {
        guard status == PB_ELF_OK else { throw Failure(status: status, reason: Self.reason(elf)) }
    }

    // MARK: Sections

    package func section(at index: Int) throws -> Section {
        var s = pb_elf_section()
        try check(pb_elf_section_at(elf, UInt32(clamping: index), &s))
        return Section(s)
    }

    package func sections() throws -> [Section] { try (0..<sectionCount).map { try section(at: $0) } }

    /// Every section, each checked to hold its bytes inside the file (SHT_NOBITS aside) and to
    /// link to a section that exists: what a reader that copies or patches sections relies on.
    package func sectionsInFile() throws -> [Section] {
        let sections = try sections()
        for section in sections {
            if !section.holdsNoBytes { _ = try contents(of: section) }
            guard Int(section.link) < sections.count else {
                throw Failure(status: PB_ELF_E_SECTION, reason: "section \(section.index) (\(section.name)) links to section \(section.link) of \(sections.count)")
            }
        }
        return sections
    }

    /// The NUL-terminated string at `offset` of string table section `index`.
    package func string(inSection index: Int, at offset: UInt64) throws -> String {
        var s: UnsafePointer<CChar>?
        try check(pb_elf_string(elf, UInt32(clamping: index), offset, &s))
        return String(cString: s!)
    }

    /// The first section named `name`, nil when there is none.
    package func section(named name: String) throws -> Section? {
        var s = pb_elf_section()
        let status = pb_elf_section_named(elf, name, &s)
        if status == PB_ELF_E_NOT_FOUND { return nil }
        try check(status)
        return Section(s)
    }

    /// `count` bytes at `offset` in `section` (all of it by default), checked against the
    /// section and the file; valid while this object lives.
    package func contents(of section: Section, at offset: UInt64 = 0, count: UInt64? = nil) throws -> UnsafeRawBufferPointer {
        var s = section.c
        var pointer: UnsafePointer<UInt8>?
        let count = count ?? section.size
        try check(pb_elf_section_range(elf, &s, offset, count, &pointer))
        return UnsafeRawBufferPointer(start: pointer, count: Int(count))
    }

    /// The file offset of the `count` bytes at virtual address `address` (through PT_LOAD, or
    /// the allocated sections of a file without segments); nil when the file holds none there.
    package func fileOffset(ofAddress address: UInt64, count: UInt64 = 1) -> UInt64? {
        var offset: UInt64 = 0
        return pb_elf_address_offset(elf, address, count, &offset) == PB_ELF_OK ? offset : nil
    }

    // MARK: Segments

    /// Every program header, including those whose file bytes lie past the end of the file.
    package func segments() -> [Segment] {
        (0..<segmentCount).map { index in
            var s = pb_elf_segment()
            let status = pb_elf_segment_at(elf, UInt32(index), &s)
            return Segment(index: index, type: s.type, flags: s.flags, offset: s.offset, address: s.vaddr, fileSize: s.filesz,
                           memorySize: s.memsz, alignment: s.align, inFile: status == PB_ELF_OK)
        }
    }

    /// The PT_INTERP path, nil when there is none.
    package func interpreter() throws -> String? {
        var path: UnsafePointer<CChar>?
        try check(pb_elf_interpreter(elf, &path))
        return path.map { String(cString: $0) }
    }

    // MARK: Symbols

    /// The symbols of `.symtab` (`dynamic` false) or `.dynsym`, the null symbol included; nil
    /// when the file has no such table.
    package func symbols(dynamic: Bool = false) throws -> [Symbol]? {
        var table = pb_elf_symbols()
        let status = pb_elf_symbols_open(elf, UInt32(dynamic ? PB_SHT_DYNSYM : PB_SHT_SYMTAB), &table)
        if status == PB_ELF_E_NOT_FOUND { return nil }
        try check(status)
        return try symbols(in: &table)
    }

    private func symbols(in table: inout pb_elf_symbols) throws -> [Symbol] {
        try (0..<table.count).map { index in
            var s = pb_elf_symbol()
            try check(pb_elf_symbol_at(elf, &table, index, &s))
            var version: String?
            var number: UInt16 = 0
            if table.versions != nil {
                var hidden: Int32 = 0
                var name: UnsafePointer<CChar>?
                try check(pb_elf_symbol_version(elf, &table, index, &number, &hidden, &name))
                version = name.map { String(cString: $0) }
            }
            return Symbol(index: Int(index), name: String(cString: s.name), type: s.type, bind: s.bind, section: s.section,
                          value: s.value, size: s.size, version: version, versionIndex: number)
        }
    }

    /// The global and weak symbols defined in a section, by name, from every SHT_SYMTAB.
    package func definedSymbols() throws -> [String: Symbol] {
        var symbols: [String: Symbol] = [:]
        var from: UInt32 = 0
        var found = pb_elf_section()
        while pb_elf_section_of_type(elf, UInt32(PB_SHT_SYMTAB), from, &found) == PB_ELF_OK {
            from = found.index + 1
            var table = pb_elf_symbols()
            try check(pb_elf_symbols_in_section(elf, found.index, &table))
            for symbol in try self.symbols(in: &table) where symbol.bind == UInt8(PB_STB_GLOBAL) || symbol.bind == UInt8(PB_STB_WEAK) {
                if symbol.section != 0 && Int(symbol.section) < sectionCount { symbols[symbol.name] = symbol }
            }
        }
        return symbols
    }

    /// Every (library, version) of `.gnu.version_r`, in file order.
    package func versionNeeds() throws -> [VersionNeed] {
        var count: UInt32 = 0
        let status = pb_elf_version_needs(elf, nil, 0, &count)
        guard status == PB_ELF_OK || status == PB_ELF_E_ARGUMENT else { try check(status); return [] }
        var needs = [pb_elf_version_need](repeating: pb_elf_version_need(), count: Int(count))
        try check(pb_elf_version_needs(elf, &needs, count, &count))
        return needs.map { VersionNeed(library: String(cString: $0.file), version: String(cString: $0.name), index: $0.index) }
    }

    // MARK: Dynamic section and relocations

    /// DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DT_FLAGS_1; nil for a static program.
    package func dynamic() throws -> Dynamic? {
        var d = pb_elf_dynamic()
        let status = pb_elf_dynamic_open(elf, &d)
        if status == PB_ELF_E_NOT_FOUND { return nil }
        try check(status)
        var out = Dynamic()
        for index in 0..<d.count {
            var tag: UInt64 = 0, value: UInt64 = 0
            pb_elf_dynamic_entry(&d, index, &tag, &value)
            func string() throws -> String {
                var s: UnsafePointer<CChar>?
                try check(pb_elf_dynamic_string(elf, &d, value, &s))
                return String(cString: s!)
            }
            switch tag {
            case UInt64(PB_DT_NEEDED): out.needed.append(try string())
            case UInt64(PB_DT_SONAME): out.soname = try string()
            case UInt64(PB_DT_RPATH): out.rpath = try string()
            case UInt64(PB_DT_RUNPATH): out.runpath = try string()
            case UInt64(PB_DT_FLAGS_1): out.flags1 = value
            default: break
            }
        }
        return out
    }

    /// The entries of relocation section `index` (SHT_RELA or SHT_REL).
    package func relocations(inSection index: Int) throws -> [Relocation] {
        var r = pb_elf_relocations()
        try check(pb_elf_relocations_open(elf, UInt32(clamping: index), &r))
        return (0..<r.count).map { i in
            var out = pb_elf_relocation()
            pb_elf_relocation_at(&r, i, &out)
            return Relocation(offset: out.offset, type: out.type, symbol: out.symbol, addend: out.addend)
        }
    }

    // MARK: Notes and frames

    package func gnuNotes() throws -> GNUNotes {
        var n = pb_elf_gnu_notes()
        try check(pb_elf_read_gnu_notes(elf, &n))
        return GNUNotes(minimumKernel: n.has_abi_tag != 0 ? [n.abi_major, n.abi_minor, n.abi_patch] : nil,
                        buildID: n.build_id.map { Array(UnsafeBufferPointer(start: $0, count: Int(n.build_id_size))) },
                        x86ISANeeded: n.has_x86_isa_needed != 0 ? n.x86_isa_needed : nil,
                        x86ISAUsed: n.has_x86_isa_used != 0 ? n.x86_isa_used : nil)
    }

    /// Every FDE of `.eh_frame` in section order ([] without one); the first entry that cannot
    /// be read throws.
    package func frameDescriptions() throws -> [FDE] {
        var frames = pb_elf_frames()
        let status = pb_elf_frames_open(elf, &frames)
        if status == PB_ELF_E_NOT_FOUND { return [] }
        try check(status)
        var out: [FDE] = []
        var fde = pb_elf_fde()
        while true {
            let status = pb_elf_frames_next(elf, &frames, &fde)
            if status == PB_ELF_END { return out }
            try check(status)
            out.append(FDE(offset: fde.offset, start: fde.start, size: fde.size, augmentation: String(cString: fde.cie.augmentation),
                           lsda: fde.lsda))
        }
    }

    /// The functions `.eh_frame` describes, sorted, and what is wrong with them.
    package func functionTable() throws -> FunctionTable {
        // Sized by the section's bytes in the file, never by what its header claims.
        let size = try section(named: ".eh_frame").map { try contents(of: $0).count } ?? 0
        let capacity = pb_elf_frames_capacity(UInt64(size))
        var functions = [pb_elf_function](repeating: pb_elf_function(), count: Int(capacity))
        var problems = [pb_elf_frame_problem](repeating: pb_elf_frame_problem(), count: 64)
        var count: UInt64 = 0, problemCount: UInt64 = 0
        try check(pb_elf_function_table(elf, &functions, capacity, &count, &problems, UInt64(problems.count), &problemCount))
        return FunctionTable(functions: Array(functions.prefix(Int(count))),
                             problems: problems.prefix(Int(min(problemCount, UInt64(problems.count)))).map {
                                 .init(kind: pb_elf_frame_problem_kind(rawValue: $0.kind), fde: $0.offset, start: $0.start, size: $0.size)
                             })
    }
}

extension ELFFile.Section {
    init(_ s: pb_elf_section) {
        self.init(index: Int(s.index), name: String(cString: s.name), type: s.type, flags: s.flags, address: s.addr, offset: s.offset,
                  size: s.size, link: s.link, info: s.info, alignment: s.align, entrySize: s.entsize)
    }

    var c: pb_elf_section {
        pb_elf_section(name: nil, index: UInt32(index), type: type, flags: flags, addr: address, offset: offset, size: size, link: link,
                       info: info, align: alignment, entsize: entrySize)
    }
}

/// An array's bytes copied once into memory that a reader can point into.
final class ByteStorage {
    let bytes: UnsafeRawBufferPointer

    init(_ array: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 16)
        array.withUnsafeBytes { buffer.copyMemory(from: $0) }
        bytes = UnsafeRawBufferPointer(rebasing: buffer[..<array.count])
    }

    deinit { bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0).deallocate() } }
}
