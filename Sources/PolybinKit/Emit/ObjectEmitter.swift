import CPolybin

/// Writes ELF64 relocatable objects that hold a payload, with none of objcopy's traps: the
/// payload sits in a read-only allocated section aligned to 64 bytes, start and size are
/// ordinary section-relative symbols (no absolute symbol, so PIE links work with every
/// linker), and `.note.GNU-stack` keeps the program's stack non-executable.
///
/// The payload itself is never held: an emitter returns an `ObjectLayout` (the bytes before
/// and after the payload, and where the payload goes) and the caller streams the payload
/// into place, so an object costs one write of the payload and no external tool.
public struct ObjectEmitter {
    /// What differs between ELF machines for a data-only object.
    public struct Machine: Sendable, Equatable {
        public var elfMachine: UInt16
        /// The section flag that puts a section outside the small code model's 2 GiB
        /// (x86-64's SHF_X86_64_LARGE); nil where the architecture has none.
        public var largeSectionFlag: UInt64?
        /// The relocation that stores a symbol's 64-bit address plus an addend in data
        /// (R_X86_64_64, R_AARCH64_ABS64): it reaches anywhere, and PIE links turn it into a
        /// relative dynamic relocation.
        public var absolute64: UInt32

        public static let x86_64 = Machine(elfMachine: 62, largeSectionFlag: 0x1000_0000, absolute64: 1)
        /// aarch64 has no large sections: its code models reach data through the GOT or
        /// ADRP (±4 GiB), and R_AARCH64_ABS64 tables reach anywhere.
        public static let aarch64 = Machine(elfMachine: 183, largeSectionFlag: nil, absolute64: 257)

        public init(elfMachine: UInt16, largeSectionFlag: UInt64?, absolute64: UInt32) {
            self.elfMachine = elfMachine
            self.largeSectionFlag = largeSectionFlag
            self.absolute64 = absolute64
        }

        public init(_ arch: Architecture) { self = arch == .aarch64 ? .aarch64 : .x86_64 }
    }

    /// The payload's symbol; `<symbol>_size` holds its size as a uint64_t.
    public var symbol: String
    public var section: String
    public var machine: Machine

    public init(symbol: String = Fatbin.payloadSymbol, section: String = ".rodata.polybin", machine: Machine = .x86_64) {
        self.symbol = symbol
        self.section = section
        self.machine = machine
    }

    static let payloadAlign: UInt64 = 64

    /// Where `layout(payloadSize:)` puts the payload, whatever its size: right after the ELF
    /// header. A writer can stream the payload there before it knows the size.
    public static let standalonePayloadOffset: UInt64 = 64

    /// A standalone object defining `symbol` (the payload) and `symbol_size`.
    public func layout(payloadSize: UInt64) -> ObjectLayout {
        let sizeOffset = align(payloadSize, 8)
        let sectionSize = sizeOffset + 8

        var shstrtab: [UInt8] = [0]
        let nameRodata = shstrtab.appendName(section), nameStack = shstrtab.appendName(".note.GNU-stack")
        let nameSymtab = shstrtab.appendName(".symtab"), nameStrtab = shstrtab.appendName(".strtab")
        let nameShstrtab = shstrtab.appendName(".shstrtab")

        var strtab: [UInt8] = [0]
        let startName = strtab.appendName(symbol), sizeName = strtab.appendName(symbol + "_size")

        // Symbols: null, then the two globals (STB_GLOBAL, STT_OBJECT) in section 1.
        var symtab = [UInt8](repeating: 0, count: 24)
        symtab.appendSymbol(name: startName, section: 1, value: 0, size: payloadSize)
        symtab.appendSymbol(name: sizeName, section: 1, value: sizeOffset, size: 8)

        let dataOffset = Self.standalonePayloadOffset
        let symtabOffset = align(dataOffset + sectionSize, 8)
        let strtabOffset = symtabOffset + UInt64(symtab.count)
        let shstrtabOffset = strtabOffset + UInt64(strtab.count)
        let sectionHeadersOffset = align(shstrtabOffset + UInt64(shstrtab.count), 8)

        var head = elfHeader(machine: machine.elfMachine, sectionHeaders: sectionHeadersOffset, count: 6, names: 5)
        precondition(UInt64(head.count) == dataOffset)
        head.reserveCapacity(Int(dataOffset))

        var tail: [UInt8] = []
        tail.append(contentsOf: [UInt8](repeating: 0, count: Int(sizeOffset - payloadSize)))
        tail.appendLE(payloadSize)
        tail.append(contentsOf: [UInt8](repeating: 0, count: Int(symtabOffset - (dataOffset + sectionSize))))
        tail.append(contentsOf: symtab)
        tail.append(contentsOf: strtab)
        tail.append(contentsOf: shstrtab)
        tail.append(contentsOf: [UInt8](repeating: 0, count: Int(sectionHeadersOffset - (shstrtabOffset + UInt64(shstrtab.count)))))
        tail.append(contentsOf: [UInt8](repeating: 0, count: 64))
        tail.appendSectionHeader(name: nameRodata, type: 1, flags: 0x2, offset: dataOffset, size: sectionSize, align: Self.payloadAlign)
        tail.appendSectionHeader(name: nameStack, type: 1, flags: 0, offset: dataOffset, size: 0, align: 1)
        tail.appendSectionHeader(name: nameSymtab, type: 2, flags: 0, offset: symtabOffset, size: UInt64(symtab.count),
                                 link: 4, info: 1, align: 8, entsize: 24)
        tail.appendSectionHeader(name: nameStrtab, type: 3, flags: 0, offset: strtabOffset, size: UInt64(strtab.count), align: 1)
        tail.appendSectionHeader(name: nameShstrtab, type: 3, flags: 0, offset: shstrtabOffset, size: UInt64(shstrtab.count), align: 1)
        return ObjectLayout(head: head, payloadOffset: dataOffset, payloadSize: payloadSize, tail: tail)
    }

    /// The whole object for a payload held in memory.
    public func object(for payload: [UInt8]) -> [UInt8] {
        let layout = layout(payloadSize: UInt64(payload.count))
        return layout.head + payload + layout.tail
    }

    /// Where `adding` puts the payload, whatever the compiled code: the first page after the
    /// ELF header. A writer streams the payload there while the compiler still runs.
    public static let addedPayloadOffset: UInt64 = 4096

    /// Data that code compiled against `extern` declarations reads: one section
    /// (`.data.rel.ro.*`, read-only once relocated) whose 8-byte `pointers` the linker fills
    /// with the payload's address plus an addend, and the symbols it defines.
    public struct Tables: Sendable {
        public struct Pointer: Sendable, Equatable {
            public var at: UInt64
            public var addend: UInt64
            public init(at: UInt64, addend: UInt64) { self.at = at; self.addend = addend }
        }
        public struct Symbol: Sendable, Equatable {
            public var name: String
            public var offset: UInt64
            public var size: UInt64
            public init(name: String, offset: UInt64, size: UInt64) { self.name = name; self.offset = offset; self.size = size }
        }
        public var section: String
        /// The section's bytes; the pointer slots hold zeros (the addends are in the relocations).
        public var bytes: [UInt8]
        public var pointers: [Pointer]
        public var symbols: [Symbol]

        public init(section: String, bytes: [UInt8], pointers: [Pointer], symbols: [Symbol]) {
            self.section = section
            self.bytes = bytes
            self.pointers = pointers
            self.symbols = symbols
        }
    }

    /// `object` (a relocatable object a C compiler made, which references `symbol` and the
    /// symbols of `tables` as undefined globals) with the payload and the tables added as
    /// sections of their own that define them. The compiled code is kept byte for byte, moved
    /// after the payload; only its undefined symbols turn defined, and one local section
    /// symbol for the payload is added (relocations against it stay local: relative in a PIE
    /// or a shared library, never a symbol lookup). The payload is at `addedPayloadOffset`.
    /// Where the machine has large sections, the payload is one (`.lrodata.*`): linkers
    /// place those after everything else, so a payload of any size leaves the program's
    /// 32-bit PC-relative references in reach.
    public func adding(payloadSize: UInt64, tables: Tables? = nil, to object: [UInt8], named what: String) throws -> ObjectLayout {
        let elf = try CompiledObject(object, named: what)
        guard elf.machine == machine.elfMachine else {
            throw PolybinError("\(what): machine \(elf.machine), not \(machine.elfMachine)")
        }
        let symtabs = elf.sections.indices.filter { elf.sections[$0].type == 2 }
        guard symtabs.count == 1, let symtabIndex = symtabs.first else { throw PolybinError("\(what): not one symbol table") }
        let symtab = elf.sections[symtabIndex]
        guard !elf.sections.contains(where: { $0.type == 18 }) else {  // SHT_SYMTAB_SHNDX
            throw PolybinError("\(what): extended section indices are not supported")
        }
        let strtab = elf.sections[Int(symtab.link)]
        let symbolCount = Int(symtab.size / 24)
        let firstGlobal = Int(symtab.info)
        guard symtab.size % 24 == 0, symbolCount > 0, (1...symbolCount).contains(firstGlobal) else {
            throw PolybinError("\(what): a malformed symbol table")
        }
        guard elf.contentEnd >= 64 else { throw PolybinError("\(what): not an ELF64 little-endian relocatable object") }
        let payloadIndex = UInt16(elf.sections.count)
        let tablesIndex = payloadIndex + 1, relocationsIndex = payloadIndex + 2
        guard relocationsIndex < 0xFF00 else { throw PolybinError("\(what): too many sections") }

        // The compiled contents move up by `base` (a multiple of the page, so every section
        // keeps its alignment); the ELF header stays at 0, the payload follows it.
        let payloadOffset = Self.addedPayloadOffset
        let base = align(payloadOffset + payloadSize, 4096)
        var body = Array(object[0..<Int(elf.contentEnd)])

        // Symbols: the compiler's, with the payload's section symbol added after the locals.
        var symbols = Array(object[Int(symtab.offset)..<Int(symtab.offset + symtab.size)])
        var sectionSymbol = [UInt8](repeating: 0, count: 24)
        sectionSymbol[4] = 0x03  // STB_LOCAL << 4 | STT_SECTION
        sectionSymbol.putLE(payloadIndex, at: 6)
        symbols.insert(contentsOf: sectionSymbol, at: firstGlobal * 24)
        var definitions: [String: (section: UInt16, value: UInt64, size: UInt64)] = [symbol: (payloadIndex, 0, payloadSize)]
        for table in tables?.symbols ?? [] { definitions[table.name] = (tablesIndex, table.offset, table.size) }
        var defined: Set<String> = []
        for i in stride(from: firstGlobal + 1, through: symbolCount, by: 1) {
            let at = i * 24
            guard let name = elf.string(strtab, at: symbols.le32(at)), let definition = definitions[name] else { continue }
            guard symbols.le16(at + 6) == 0, symbols[at + 4] >> 4 == 1 else {
                throw PolybinError("\(what): \(name) is already defined, or not global")
            }
            symbols[at + 4] = 0x11  // STB_GLOBAL << 4 | STT_OBJECT; the visibility (st_other) stays
            symbols.putLE(definition.section, at: at + 6)
            symbols.putLE(definition.value, at: at + 8)
            symbols.putLE(definition.size, at: at + 16)
            defined.insert(name)
        }
        if let missing = definitions.keys.sorted().first(where: { !defined.contains($0) }) {
            throw PolybinError("\(what): the compiled code does not reference \(missing)")
        }
        // The compiler's relocations name symbols by index: those past the locals move up one.
        for section in elf.sections where (section.type == 4 || section.type == 9) && Int(section.link) == symtabIndex {
            let entry = section.type == 4 ? 24 : 16
            guard section.size % UInt64(entry) == 0 else { throw PolybinError("\(what): a malformed relocation section") }
            for at in stride(from: Int(section.offset), to: Int(section.offset + section.size), by: entry) {
                let info = body.le64(at + 8), index = Int(info >> 32)
                guard index < symbolCount else { throw PolybinError("\(what): a relocation names symbol \(index) of \(symbolCount)") }
                if index >= firstGlobal { body.putLE(info + (1 << 32), at: at + 8) }
            }
        }

        var names = Array(object[Int(elf.sectionNames.offset)..<Int(elf.sectionNames.offset + elf.sectionNames.size)])
        let payloadName = names.appendName(section)
        let tablesName = names.appendName(tables?.section ?? ".data.rel.ro.polybin")
        let relocationsName = names.appendName(".rela" + (tables?.section ?? ".data.rel.ro.polybin"))

        // The tail starts right after the payload: the compiled contents at `base` + their
        // old offsets, then the new names, symbols, tables and relocations, then the headers.
        let tailStart = payloadOffset + payloadSize
        var tail = [UInt8](repeating: 0, count: Int(base + 64 - tailStart))
        tail.append(contentsOf: body[64...])
        func place(_ bytes: [UInt8], align alignment: Int) -> UInt64 {
            let offset = align(tailStart + UInt64(tail.count), alignment)
            tail.append(contentsOf: [UInt8](repeating: 0, count: Int(offset - tailStart) - tail.count))
            tail.append(contentsOf: bytes)
            return offset
        }
        let namesOffset = place(names, align: 1)
        let symbolsOffset = place(symbols, align: 8)
        let tablesOffset = place(tables?.bytes ?? [], align: 8)
        var relocations: [UInt8] = []
        relocations.reserveCapacity((tables?.pointers.count ?? 0) * 24)
        let sectionSymbolInfo = UInt64(firstGlobal) << 32 | UInt64(machine.absolute64)
        for pointer in tables?.pointers ?? [] {
            relocations.appendLE(pointer.at)
            relocations.appendLE(sectionSymbolInfo)
            relocations.appendLE(pointer.addend)
        }
        let relocationsOffset = place(relocations, align: 8)
        let headersOffset = place([], align: 8)

        var head = Array(object[0..<64])
        head.putLE(headersOffset, at: 0x28)
        head.putLE(relocationsIndex + 1, at: 0x3C)
        for (i, header) in elf.sectionHeaders.enumerated() {
            var header = header
            let section = elf.sections[i]
            if i == elf.sectionNamesIndex {
                header.putLE(namesOffset, at: 24)
                header.putLE(UInt64(names.count), at: 32)
            } else if i == symtabIndex {
                header.putLE(symbolsOffset, at: 24)
                header.putLE(UInt64(symbols.count), at: 32)
                header.putLE(UInt32(firstGlobal + 1), at: 44)
            } else if i > 0 && section.type != 8 {  // SHT_NOBITS has no bytes to move
                header.putLE(section.offset + base, at: 24)
            }
            if section.type == 17, section.link == symtabIndex, section.info >= firstGlobal {  // SHT_GROUP's signature
                header.putLE(section.info + 1, at: 44)
            }
            tail.append(contentsOf: header)
        }
        tail.appendSectionHeader(name: payloadName, type: 1, flags: 0x2 | (machine.largeSectionFlag ?? 0),
                                 offset: payloadOffset, size: payloadSize, align: Self.payloadAlign)
        tail.appendSectionHeader(name: tablesName, type: 1, flags: 0x3, offset: tablesOffset,
                                 size: UInt64(tables?.bytes.count ?? 0), align: 8)
        // SHF_INFO_LINK: sh_info is the section the relocations apply to.
        tail.appendSectionHeader(name: relocationsName, type: 4, flags: 0x40, offset: relocationsOffset,
                                 size: UInt64(relocations.count), link: UInt32(symtabIndex), info: UInt32(tablesIndex),
                                 align: 8, entsize: 24)
        return ObjectLayout(head: head, payloadOffset: payloadOffset, payloadSize: payloadSize, tail: tail)
    }

    func elfHeader(machine: UInt16, sectionHeaders: UInt64, count: UInt16, names: UInt16) -> [UInt8] {
        var out: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out.appendLE(UInt16(1))    // ET_REL
        out.appendLE(machine)
        out.appendLE(UInt32(1))    // EV_CURRENT
        out.appendLE(UInt64(0))    // entry
        out.appendLE(UInt64(0))    // phoff
        out.appendLE(sectionHeaders)
        out.appendLE(UInt32(0))    // flags
        out.appendLE(UInt16(64))   // ehsize
        out.appendLE(UInt16(0))    // phentsize
        out.appendLE(UInt16(0))    // phnum
        out.appendLE(UInt16(64))   // shentsize
        out.appendLE(count)        // shnum
        out.appendLE(names)        // shstrndx
        return out
    }
}

/// An object file with a hole for the payload: `head` at 0, the payload at `payloadOffset`,
/// `tail` right after it.
public struct ObjectLayout: Sendable {
    public let head: [UInt8]
    public let payloadOffset: UInt64
    public let payloadSize: UInt64
    public let tail: [UInt8]

    public var size: UInt64 { payloadOffset + payloadSize + UInt64(tail.count) }

    /// Writes head and tail into `fd`, whose payload region is written (or is to be) by the caller.
    public func writeAround(into fd: FileDescriptor) throws {
        try fd.write(head, at: 0)
        try fd.write(tail, at: payloadOffset + payloadSize)
    }
}

/// The parts of a compiled relocatable object that adding a section needs, read through
/// the one ELF reader (ELFFile): every section in the file, the headers as stored.
private struct CompiledObject {
    let machine: UInt16
    let sections: [ELFFile.Section]
    /// Each section's 64-byte header as the file holds it, to be copied and patched.
    let sectionHeaders: [[UInt8]]
    let sectionNamesIndex: Int
    var sectionNames: ELFFile.Section { sections[sectionNamesIndex] }
    /// Where the contents end: the section header table, when it comes last, is rewritten.
    let contentEnd: UInt64
    let elf: ELFFile

    init(_ object: [UInt8], named what: String) throws {
        let bad = PolybinError("\(what): not an ELF64 little-endian relocatable object")
        guard let elf = try? ELFFile(copying: object), elf.header.type == UInt16(PB_ET_REL), elf.header.shentsize == 64,
              elf.sectionCount > 0, let sections = try? elf.sectionsInFile() else { throw bad }
        let shoff = elf.header.shoff
        self.elf = elf
        self.sections = sections
        machine = elf.header.machine
        sectionHeaders = sections.indices.map { i in Array(object[Int(shoff) + i * 64..<Int(shoff) + i * 64 + 64]) }
        sectionNamesIndex = elf.sectionNamesIndex
        contentEnd = shoff + UInt64(sections.count * 64) == UInt64(object.count) ? shoff : UInt64(object.count)
    }

    /// The name at `offset` of string table `table`, nil when it lies.
    func string(_ table: ELFFile.Section, at offset: UInt32) -> String? {
        try? elf.string(inSection: table.index, at: UInt64(offset))
    }
}

extension Array where Element == UInt8 {
    /// Appends a NUL-terminated name to a string table; returns its offset.
    mutating func appendName(_ name: String) -> UInt32 {
        let offset = UInt32(count)
        append(contentsOf: Array(name.utf8) + [0])
        return offset
    }

    mutating func appendSymbol(name: UInt32, section: UInt16, value: UInt64, size: UInt64) {
        appendLE(name)
        append(0x11)  // STB_GLOBAL << 4 | STT_OBJECT
        append(0)     // STV_DEFAULT
        appendLE(section)
        appendLE(value)
        appendLE(size)
    }

    mutating func appendSectionHeader(name: UInt32, type: UInt32, flags: UInt64, offset: UInt64, size: UInt64,
                                      link: UInt32 = 0, info: UInt32 = 0, align: UInt64, entsize: UInt64 = 0) {
        appendLE(name)
        appendLE(type)
        appendLE(flags)
        appendLE(UInt64(0))  // addr
        appendLE(offset)
        appendLE(size)
        appendLE(link)
        appendLE(info)
        appendLE(align)
        appendLE(entsize)
    }
}
