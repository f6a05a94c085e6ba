import CPolybin
import CPolybinAudit

/// A linear sweep of a program's x86-64 code through Zydis (pb_disasm.h): each function of the
/// `.eh_frame` table (or, without one, each function symbol, or else each executable section)
/// decoded from its first byte to its last. Per function it keeps what the audit judges: the
/// instructions above baseline by Zydis ISA set, and the edges rule A follows (direct calls and
/// jumps leaving the function, RIP-relative `lea` targets).
///
/// A linear sweep trusts the function boundaries: data inside a function (rare in compiler
/// output; jump tables live in .rodata) decodes as whatever it looks like, and bytes Zydis
/// refuses are stepped over one at a time and counted.
package struct CodeSweep {
    package struct Function {
        package var start: UInt64
        package var size: UInt64
        /// The FDE's offset in `.eh_frame`, nil for ranges taken from symbols or sections.
        package var fde: UInt64?
        package var name: String?
        /// isa_set → (count, first address) for instructions that need more than baseline.
        package var above: [String: (count: Int, first: UInt64)] = [:]
        /// Features those instructions need, in the feature model's names.
        package var features: Set<String> = []
        /// Targets of direct calls and jumps that leave the function.
        package var branchTargets: [UInt64] = []
        /// Targets of RIP-relative `lea`: what a resolver hands back.
        package var leaTargets: [UInt64] = []

        /// "name", or "0x401000 (FDE 0x401000-0x401080)" when stripped.
        package var label: String {
            if let name { return name }
            return "0x\(String(start, radix: 16)) (\(fde == nil ? "range" : "FDE") 0x\(String(start, radix: 16))-0x\(String(start + size, radix: 16)))"
        }
    }

    package var functions: [Function]
    /// Bytes decoded, and positions Zydis refused (each stepped over as one byte).
    package var bytes: UInt64 = 0
    package var instructions: UInt64 = 0
    package var undecodable: UInt64 = 0

    /// Why a sweep cannot run here (Zydis missing), nil when it can.
    package static var unavailable: String? {
        var why: UnsafePointer<CChar>?
        return pb_disasm_available(&why) != 0 ? nil : why.map { String(cString: $0) } ?? "x86-64 disassembler unavailable"
    }

    /// One ISA set's classification, computed once per Zydis string (they are static).
    private struct SetClass {
        var name: String
        var features: [String]
        /// Sets holding an instruction that never counts (tzcnt in BMI1, xgetbv in XSAVE).
        var checkMnemonic: Bool
    }

    package init(_ elf: ELFFile) throws {
        functions = try Self.ranges(elf)
        var classes: [UnsafeRawPointer: SetClass?] = [:]
        var mnemonicKinds: [UnsafeRawPointer: UInt8] = [:]   // 0 other, 1 lea, 2 call or jmp
        let base = elf.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for index in functions.indices {
            let start = functions[index].start, size = functions[index].size
            guard size > 0, let offset = elf.fileOffset(ofAddress: start, count: size) else { continue }
            var f = functions[index]
            var at: UInt64 = 0
            var insn = pb_disasm_insn()
            while at < size {
                let code = base + Int(offset + at)
                let length = pb_disasm_decode(code, Int(size - at), &insn)
                if length == 0 {
                    undecodable += 1
                    at += 1
                    continue
                }
                instructions += 1
                let address = start + at
                let isa = UnsafeRawPointer(insn.isa_set!)
                let setClass: SetClass?
                if let known = classes[isa] {
                    setClass = known
                } else {
                    let name = String(cString: insn.isa_set)
                    let features = ISATable.requirement(isaSet: name, mnemonic: "")
                    setClass = features.isEmpty ? nil : SetClass(name: name, features: features, checkMnemonic: name == "BMI1" || name == "XSAVE")
                    classes[isa] = setClass
                }
                if let setClass, !(setClass.checkMnemonic && ISATable.neverCounts.contains(String(cString: insn.mnemonic))) {
                    if let seen = f.above[setClass.name] {
                        f.above[setClass.name] = (seen.count + 1, seen.first)
                    } else {
                        f.above[setClass.name] = (1, address)
                        f.features.formUnion(setClass.features)
                    }
                }
                if insn.rel_size != 0 || insn.rip_offset != 0 {
                    let mnemonic = UnsafeRawPointer(insn.mnemonic!)
                    let kind = mnemonicKinds[mnemonic] ?? {
                        let name = String(cString: insn.mnemonic)
                        let kind: UInt8 = name == "lea" ? 1 : (name == "call" || name.hasPrefix("j")) ? 2 : 0
                        mnemonicKinds[mnemonic] = kind
                        return kind
                    }()
                    let next = address &+ UInt64(length)
                    if kind == 1, insn.rip_offset != 0 {
                        f.leaTargets.append(next &+ UInt64(bitPattern: Int64(Self.signed(code + Int(insn.rip_offset), 4))))
                    } else if kind == 2, insn.rel_size != 0 {
                        let target = next &+ UInt64(bitPattern: Int64(Self.signed(code + Int(insn.rel_offset), Int(insn.rel_size))))
                        if target < start || target >= start + size { f.branchTargets.append(target) }
                    }
                }
                at += UInt64(length)
            }
            bytes += size
            functions[index] = f
        }
    }

    static func signed(_ p: UnsafePointer<UInt8>, _ size: Int) -> Int64 {
        switch size {
        case 1: Int64(Int8(bitPattern: p[0]))
        case 2: Int64(Int16(bitPattern: UInt16(p[0]) | UInt16(p[1]) << 8))
        default: Int64(Int32(bitPattern: UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24))
        }
    }

    /// The ranges to sweep, sorted, each named by the function symbol at its start.
    static func ranges(_ elf: ELFFile) throws -> [Function] {
        let symbols = ((try? elf.symbols()) ?? nil) ?? ((try? elf.symbols(dynamic: true)) ?? nil) ?? []
        var names: [UInt64: String] = [:]
        var sized: [(UInt64, UInt64, String)] = []
        for s in symbols where (s.type == UInt8(PB_STT_FUNC) || s.type == UInt8(PB_STT_GNU_IFUNC)) && s.section != 0 && s.value != 0 {
            // A global name wins over a local alias of the same address.
            if names[s.value] == nil || s.bind != UInt8(PB_STB_LOCAL) { names[s.value] = s.name }
            if s.size > 0 { sized.append((s.value, s.size, s.name)) }
        }
        let table = try elf.functionTable()
        if !table.functions.isEmpty {
            return table.functions.map { Function(start: $0.start, size: $0.size, fde: $0.fde, name: names[$0.start]) }
        }
        if !sized.isEmpty {
            var seen = Set<UInt64>()
            return sized.sorted { $0.0 < $1.0 }.filter { seen.insert($0.0).inserted }.map { Function(start: $0.0, size: $0.1, fde: nil, name: names[$0.0]) }
        }
        let executable = try elf.sections().filter {
            $0.type == UInt32(PB_SHT_PROGBITS) && $0.flags & UInt64(PB_SHF_EXECINSTR) != 0 && $0.flags & UInt64(PB_SHF_ALLOC) != 0
        }
        return executable.map { Function(start: $0.address, size: $0.size, fde: nil, name: $0.name) }
    }

    /// The index of the function holding `address`.
    package func function(containing address: UInt64) -> Int? {
        var low = 0, high = functions.count
        while low < high {
            let mid = (low + high) / 2
            if functions[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        let f = functions[low - 1]
        return address < f.start + max(f.size, 1) ? low - 1 : nil
    }
}
