/// Writes an ELF64 relocatable object (x86-64 or aarch64) that holds a payload, with none of objcopy's
/// traps: the payload sits in a read-only allocated `.rodata.*` section aligned to 64 bytes,
/// start and size are ordinary section-relative symbols (no absolute symbol, so PIE links
/// work with every linker), and `.note.GNU-stack` keeps the program's stack non-executable.
/// Written directly, the object costs one copy of the payload and no external tool.
public struct ObjectEmitter {
    /// The payload's symbol; `<symbol>_size` holds its size as a uint64_t.
    public var symbol: String
    public var section: String
    /// The object's e_machine. The object has no relocations, so nothing else differs.
    public var arch: Architecture

    public init(symbol: String = "polybin_bundle", section: String = ".rodata.polybin", arch: Architecture = .x86_64) {
        self.symbol = symbol
        self.section = section
        self.arch = arch
    }

    public func object(for payload: [UInt8]) -> [UInt8] {
        let payloadAlign: UInt64 = 64
        let sizeOffset = align(UInt64(payload.count), 8)
        let sectionSize = sizeOffset + 8

        var shstrtab: [UInt8] = [0]
        func shName(_ s: String) -> UInt32 {
            let offset = UInt32(shstrtab.count)
            shstrtab.append(contentsOf: Array(s.utf8) + [0])
            return offset
        }
        let nameRodata = shName(section), nameStack = shName(".note.GNU-stack")
        let nameSymtab = shName(".symtab"), nameStrtab = shName(".strtab"), nameShstrtab = shName(".shstrtab")

        var strtab: [UInt8] = [0]
        func strName(_ s: String) -> UInt32 {
            let offset = UInt32(strtab.count)
            strtab.append(contentsOf: Array(s.utf8) + [0])
            return offset
        }
        let startName = strName(symbol), sizeName = strName(symbol + "_size")

        // Symbols: null, then the two globals (STB_GLOBAL, STT_OBJECT) in section 1.
        var symtab = [UInt8](repeating: 0, count: 24)
        func symbolEntry(_ name: UInt32, value: UInt64, size: UInt64) {
            symtab.appendLE(name)
            symtab.append(0x11)  // STB_GLOBAL << 4 | STT_OBJECT
            symtab.append(0)     // STV_DEFAULT
            symtab.appendLE(UInt16(1))
            symtab.appendLE(value)
            symtab.appendLE(size)
        }
        symbolEntry(startName, value: 0, size: UInt64(payload.count))
        symbolEntry(sizeName, value: sizeOffset, size: 8)

        let dataOffset: UInt64 = 64
        let symtabOffset = align(dataOffset + sectionSize, 8)
        let strtabOffset = symtabOffset + UInt64(symtab.count)
        let shstrtabOffset = strtabOffset + UInt64(strtab.count)
        let sectionHeadersOffset = align(shstrtabOffset + UInt64(shstrtab.count), 8)

        var out: [UInt8] = []
        out.reserveCapacity(Int(sectionHeadersOffset) + 6 * 64)
        out.append(contentsOf: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8))
        out.appendLE(UInt16(1))    // ET_REL
        out.appendLE(arch.rawValue) // e_machine: EM_X86_64 or EM_AARCH64
        out.appendLE(UInt32(1))    // EV_CURRENT
        out.appendLE(UInt64(0))    // entry
        out.appendLE(UInt64(0))    // phoff
        out.appendLE(sectionHeadersOffset)
        out.appendLE(UInt32(0))    // flags
        out.appendLE(UInt16(64))   // ehsize
        out.appendLE(UInt16(0))    // phentsize
        out.appendLE(UInt16(0))    // phnum
        out.appendLE(UInt16(64))   // shentsize
        out.appendLE(UInt16(6))    // shnum
        out.appendLE(UInt16(5))    // shstrndx

        out.append(contentsOf: payload)
        out.append(contentsOf: [UInt8](repeating: 0, count: Int(sizeOffset) - payload.count))
        out.appendLE(UInt64(payload.count))
        out.append(contentsOf: [UInt8](repeating: 0, count: Int(symtabOffset) - out.count))
        out.append(contentsOf: symtab)
        out.append(contentsOf: strtab)
        out.append(contentsOf: shstrtab)
        out.append(contentsOf: [UInt8](repeating: 0, count: Int(sectionHeadersOffset) - out.count))

        func sectionHeader(name: UInt32, type: UInt32, flags: UInt64, offset: UInt64, size: UInt64,
                           link: UInt32 = 0, info: UInt32 = 0, align: UInt64, entsize: UInt64 = 0) {
            out.appendLE(name)
            out.appendLE(type)
            out.appendLE(flags)
            out.appendLE(UInt64(0))  // addr
            out.appendLE(offset)
            out.appendLE(size)
            out.appendLE(link)
            out.appendLE(info)
            out.appendLE(align)
            out.appendLE(entsize)
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: 64))
        sectionHeader(name: nameRodata, type: 1, flags: 0x2, offset: dataOffset, size: sectionSize, align: payloadAlign)
        sectionHeader(name: nameStack, type: 1, flags: 0, offset: dataOffset, size: 0, align: 1)
        sectionHeader(name: nameSymtab, type: 2, flags: 0, offset: symtabOffset, size: UInt64(symtab.count),
                      link: 4, info: 1, align: 8, entsize: 24)
        sectionHeader(name: nameStrtab, type: 3, flags: 0, offset: strtabOffset, size: UInt64(strtab.count), align: 1)
        sectionHeader(name: nameShstrtab, type: 3, flags: 0, offset: shstrtabOffset, size: UInt64(shstrtab.count), align: 1)
        return out
    }
}
