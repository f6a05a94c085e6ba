import CPolybin
import CPolybinAudit
import Glibc

/// A linear sweep of a program's code (pb_disasm.h: x86-64 through Zydis, aarch64 through
/// LLVM's feature-gated decoders, `sweepA64`): each function of the
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
        /// Features those instructions need, in the feature model's names (aarch64: level names).
        package var features: Set<String> = []
        /// aarch64: the text of the first word of each level above baseline ("add z0.s, z0.s, z0.s").
        package var samples: [String: String] = [:]
        /// Targets of direct calls and jumps that leave the function.
        package var branchTargets: [UInt64] = []
        /// Targets of RIP-relative `lea` (aarch64: ADRP+ADD, ADR): what a resolver hands back.
        package var leaTargets: [UInt64] = []

        /// "name", or "0x401000 (FDE 0x401000-0x401080)" when stripped.
        package var label: String {
            if let name { return name }
            return "0x\(String(start, radix: 16)) (\(fde == nil ? "range" : "FDE") 0x\(String(start, radix: 16))-0x\(String(start + size, radix: 16)))"
        }
    }

    package var functions: [Function]
    /// Values of STT_GNU_IFUNC symbols (their resolvers), read with the names.
    package var ifuncResolvers: Set<UInt64> = []
    /// Bytes decoded, and positions Zydis refused (each stepped over as one byte).
    package var bytes: UInt64 = 0
    package var instructions: UInt64 = 0
    package var undecodable: UInt64 = 0

    /// Why a sweep cannot run here (Zydis missing), nil when it can.
    package static var unavailable: String? {
        var why: UnsafePointer<CChar>?
        return pb_disasm_available(&why) != 0 ? nil : why.map { String(cString: $0) } ?? "x86-64 disassembler unavailable"
    }

    /// Why a sweep of `arch` cannot run here (Zydis or libLLVM missing), nil when it can.
    package static func unavailable(_ arch: Architecture) -> String? {
        guard arch == .aarch64 else { return unavailable }
        var why: UnsafePointer<CChar>?
        return pb_a64_disasm_available(&why) != 0 ? nil : why.map { String(cString: $0) } ?? "aarch64 disassembler unavailable"
    }

    /// The name of what an aarch64 word needs: a level, or every feature LLVM knows.
    package static func a64Requirement(_ level: Int) -> String {
        level <= Int(PB_A64_LEVELS) ? Level.name(level, arch: .aarch64) : "beyond \(Level.name(Int(PB_A64_LEVELS), arch: .aarch64))"
    }

    package init(_ elf: ELFFile) throws {
        (functions, ifuncResolvers) = try Self.ranges(elf)
        if elf.header.machine == Architecture.aarch64.rawValue {
            try sweepA64(elf)
            return
        }
        // Per Zydis isa_set id: its name and the features it needs ([] for baseline), learnt once.
        var sets = [(name: String, features: [String])?](repeating: nil, count: Int(PB_DISASM_ISA_SETS))
        let ignored = ISATable.neverCounts.sorted().map { strdup($0)! }
        defer { ignored.forEach { free($0) } }
        let ignoredPointers = ignored.map { UnsafePointer<CChar>($0) as UnsafePointer<CChar>? }
        let sweeper = UnsafeMutablePointer<pb_disasm_sweeper>.allocate(capacity: 1)
        let result = UnsafeMutablePointer<pb_disasm_sweep_result>.allocate(capacity: 1)
        defer { sweeper.deallocate(); result.deallocate() }
        // size / 2 + 1 targets of each kind is always enough (a branch takes at least 2 bytes).
        // Only ranges inside the file are swept: a lying FDE size sizes nothing.
        let largest = Int(functions.map { min($0.size, UInt64(elf.bytes.count)) }.max() ?? 0)
        var lea = [UInt64](repeating: 0, count: largest / 2 + 1), branch = lea
        let base = elf.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        try ignoredPointers.withUnsafeBufferPointer { names in
            pb_disasm_sweeper_init(sweeper, names.baseAddress, names.count)
            result.initialize(to: pb_disasm_sweep_result())
            for index in functions.indices {
                let start = functions[index].start, size = functions[index].size
                guard size > 0, let offset = elf.fileOffset(ofAddress: start, count: size) else { continue }
                let swept = lea.withUnsafeMutableBufferPointer { leaBuffer in
                    branch.withUnsafeMutableBufferPointer { branchBuffer in
                        result.pointee.lea_targets = leaBuffer.baseAddress
                        result.pointee.branch_targets = branchBuffer.baseAddress
                        result.pointee.target_capacity = leaBuffer.count
                        return pb_disasm_sweep(sweeper, base + Int(offset), size, start, result)
                    }
                }
                guard swept != 0 else { throw PolybinError(Self.unavailable ?? "x86-64 disassembler unavailable") }
                var f = functions[index]
                // The two arrays in place: a tuple of 256 read by value would be copied per function.
                let raw = UnsafeMutableRawPointer(result)
                let counts = (raw + MemoryLayout<pb_disasm_sweep_result>.offset(of: \.counts)!).assumingMemoryBound(to: UInt32.self)
                let firsts = (raw + MemoryLayout<pb_disasm_sweep_result>.offset(of: \.first)!).assumingMemoryBound(to: UInt64.self)
                for id in 0..<Int(PB_DISASM_ISA_SETS) where counts[id] != 0 {
                    let set = sets[id] ?? {
                        let name = pb_disasm_isa_set_name(UInt32(id)).map { String(cString: $0) } ?? "ISA set \(id)"
                        let set = (name: name, features: ISATable.requirement(isaSet: name, mnemonic: ""))
                        sets[id] = set
                        return set
                    }()
                    if !set.features.isEmpty {
                        f.above[set.name] = (Int(counts[id]), firsts[id])
                        f.features.formUnion(set.features)
                    }
                    counts[id] = 0
                }
                f.leaTargets = Array(lea.prefix(min(result.pointee.lea_count, lea.count)))
                f.branchTargets = Array(branch.prefix(min(result.pointee.branch_count, branch.count)))
                result.pointee.lea_count = 0
                result.pointee.branch_count = 0
                bytes += size
                functions[index] = f
            }
            instructions = result.pointee.instructions
            undecodable = result.pointee.undecodable
        }
    }

    /// aarch64: each word decoded by the lowest level's LLVM decoder that takes it
    /// (pb_a64_sweep); rule A's address loads are ADRP+ADD pairs and ADR, its edges B and BL.
    mutating func sweepA64(_ elf: ELFFile) throws {
        let base = elf.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var result = pb_a64_sweep_result()
        let largest = Int(functions.map { min($0.size, UInt64(elf.bytes.count)) }.max() ?? 0)
        var addresses = [UInt64](repeating: 0, count: largest / 4 + 1), branches = addresses
        for index in functions.indices {
            let start = functions[index].start, size = functions[index].size
            guard size > 0, let offset = elf.fileOffset(ofAddress: start, count: size) else { continue }
            result = pb_a64_sweep_result()
            let swept = addresses.withUnsafeMutableBufferPointer { a in
                branches.withUnsafeMutableBufferPointer { b in
                    result.address_targets = a.baseAddress
                    result.branch_targets = b.baseAddress
                    result.target_capacity = a.count
                    return pb_a64_sweep(base + Int(offset), size, start, &result)
                }
            }
            guard swept != 0 else { throw PolybinError(Self.unavailable(.aarch64) ?? "aarch64 disassembler unavailable") }
            var f = functions[index]
            let counts = withUnsafeBytes(of: result.counts) { Array($0.bindMemory(to: UInt64.self)) }
            let firsts = withUnsafeBytes(of: result.first) { Array($0.bindMemory(to: UInt64.self)) }
            let samples = withUnsafeBytes(of: result.sample) { raw in
                (0..<(Int(PB_A64_LEVELS) + 2)).map { String(cString: raw.baseAddress!.advanced(by: $0 * 48).assumingMemoryBound(to: CChar.self)) }
            }
            var found: [(level: Int, count: UInt64, first: UInt64)] = (2...Int(PB_A64_LEVELS)).map { ($0, counts[$0], firsts[$0]) }
            found.append((Int(PB_A64_LEVELS) + 1, result.beyond, result.beyond_first))
            for (level, count, first) in found where count > 0 {
                let name = Self.a64Requirement(level)
                f.above[name] = (Int(count), first)
                f.features.insert(name)
                f.samples[name] = samples[level]
            }
            f.leaTargets = Array(addresses.prefix(min(result.address_count, addresses.count)))
            f.branchTargets = Array(branches.prefix(min(result.branch_count, branches.count)))
            functions[index] = f
            bytes += size
            instructions += result.words - result.unknown
            undecodable += result.unknown
        }
    }

    /// The ranges to sweep, sorted, each named by the function symbol at its start, and the
    /// IFUNC resolvers the symbols name (`.symtab` and `.dynsym`).
    static func ranges(_ elf: ELFFile) throws -> ([Function], Set<UInt64>) {
        let symtab = try elf.symbols(), dynsym = try elf.symbols(dynamic: true)
        let symbols = symtab ?? dynsym ?? []
        var resolvers = Set<UInt64>()
        for s in (symtab ?? []) + (dynsym ?? []) where s.type == UInt8(PB_STT_GNU_IFUNC) && s.section != 0 { resolvers.insert(s.value) }
        var names: [UInt64: String] = [:]
        var sized: [(UInt64, UInt64, String)] = []
        for s in symbols where (s.type == UInt8(PB_STT_FUNC) || s.type == UInt8(PB_STT_GNU_IFUNC)) && s.section != 0 && s.value != 0 {
            // A global name wins over a local alias of the same address.
            if names[s.value] == nil || s.bind != UInt8(PB_STB_LOCAL) { names[s.value] = s.name }
            if s.size > 0 { sized.append((s.value, s.size, s.name)) }
        }
        let table = try elf.functionTable()
        if !table.functions.isEmpty {
            return (table.functions.map { Function(start: $0.start, size: $0.size, fde: $0.fde, name: names[$0.start]) }, resolvers)
        }
        if !sized.isEmpty {
            var seen = Set<UInt64>()
            return (sized.sorted { $0.0 < $1.0 }.filter { seen.insert($0.0).inserted }.map { Function(start: $0.0, size: $0.1, fde: nil, name: names[$0.0]) }, resolvers)
        }
        let executable = try elf.sections().filter {
            $0.type == UInt32(PB_SHT_PROGBITS) && $0.flags & UInt64(PB_SHF_EXECINSTR) != 0 && $0.flags & UInt64(PB_SHF_ALLOC) != 0
        }
        return (executable.map { Function(start: $0.address, size: $0.size, fde: nil, name: $0.name) }, resolvers)
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
