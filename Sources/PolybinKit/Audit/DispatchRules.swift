import CPolybin

/// The rules that set code aside as dispatched: code a CPU check chooses at run time, which an
/// older CPU never runs (isa-audit.md §4).
///
/// - **A, IFUNC closure** (needs no symbols): the resolvers named by `R_*_IRELATIVE` addends
///   and `STT_GNU_IFUNC` symbols, the functions they call, the functions whose start they load
///   with a RIP-relative `lea` (the implementations they return), and then every function
///   called only from functions already set aside. GCC's `target_clones` and
///   `__attribute__((target))` versions resolve through IFUNC too.
/// - **C, symbol names** (when symbols exist): a name with a component that names an
///   extension (`_avx2`, `_bmi2`, `_evex`, `_avx512_…`, `_rtm`, `_xsavec`, `_elision`), or a
///   `target_clones` clone or resolver (`f.avx2.0`, `f.arch_x86_64_v3.0`, `f.resolver`); on
///   aarch64 also `_sve`, `_lse`, ... and GCC's outline atomics (`__aarch64_ldadd4_acq`).
///
/// Rules B (cross-build invariance) and D (dispatch twins) are not applied yet.
public enum DispatchRules {
    public enum Rule: String, Codable, Sendable {
        case ifunc = "A"
        case symbolName = "C"
    }

    package struct Reason: Equatable, Sendable {
        package var rule: Rule
        /// "IFUNC resolver", "returned by the IFUNC resolver memcpy", "called only from dispatched code",
        /// "named for an extension (avx2)".
        package var why: String
    }

    /// Extension words a dispatched function's name carries (glibc, zstd, GCC's clones).
    static let extensionWords: Set<String> = [
        "sse2", "sse3", "ssse3", "sse4", "sse41", "sse42", "avx", "avx2", "bmi", "bmi1", "bmi2", "fma", "fma4", "f16c",
        "aes", "aesni", "pclmul", "pclmulqdq", "sha", "shani", "vaes", "vpclmulqdq", "gfni", "rtm", "xsave", "xsavec",
        "elision", "popcnt", "lzcnt", "movbe", "vnni", "resolver",
        "sve", "sve2", "lse", "dotprod", "crc", "crypto",
    ]

    /// GCC's outline atomics (`-moutline-atomics`, aarch64's default): `__aarch64_ldadd4_acq_rel`
    /// and its kin run LSE instructions only after `__aarch64_have_lse_atomics` said yes.
    static let outlineAtomics = ["cas", "swp", "ldadd", "ldclr", "ldeor", "ldset"]

    /// The extension word of a dispatched function's name, nil when it has none.
    package static func extensionWord(in name: String) -> String? {
        if name.hasPrefix("__aarch64_"), outlineAtomics.contains(where: { name.dropFirst(10).hasPrefix($0) }) { return "outline atomics" }
        let components = name.lowercased().split(whereSeparator: { $0 == "_" || $0 == "." })
        // The first component is the function's own name ("avx_fill" is not a clone).
        for component in components.dropFirst() {
            let word = String(component)
            if extensionWords.contains(word) || word.hasPrefix("avx512") || word.hasPrefix("evex") { return word }
        }
        if let clone = name.split(separator: ".").dropFirst().first, clone.hasPrefix("arch_") { return String(clone) }
        return nil
    }

    /// Addresses of IFUNC resolvers: IRELATIVE addends and STT_GNU_IFUNC symbol values.
    static func resolvers(_ elf: ELFFile, _ sweep: CodeSweep) throws -> Set<UInt64> {
        var out = sweep.ifuncResolvers
        for section in try elf.sections() where section.type == UInt32(PB_SHT_RELA) || section.type == UInt32(PB_SHT_REL) {
            for r in try elf.relocations(inSection: section.index)
            where pb_elf_relocation_kind(elf.header.machine, r.type) == PB_RELOC_IRELATIVE {
                out.insert(UInt64(bitPattern: r.addend))
            }
        }
        return out
    }

    /// Which functions of `sweep` each rule sets aside (rule A first).
    package static func apply(_ elf: ELFFile, _ sweep: CodeSweep) throws -> [Int: Reason] {
        var aside: [Int: Reason] = [:]
        let functions = sweep.functions
        // Rule A.
        var resolverSet = Set<Int>()
        for address in try resolvers(elf, sweep) {
            if let index = sweep.function(containing: address) { resolverSet.insert(index) }
        }
        for index in resolverSet { aside[index] = Reason(rule: .ifunc, why: "IFUNC resolver") }
        // Helpers a resolver calls or tail-calls also hand back implementations.
        var choosers = resolverSet
        for index in resolverSet {
            for target in functions[index].branchTargets {
                if let callee = sweep.function(containing: target) { choosers.insert(callee) }
            }
        }
        for index in choosers.sorted() {
            let chooser = functions[index].name ?? "at 0x\(String(functions[index].start, radix: 16))"
            for target in functions[index].leaTargets {
                guard let implementation = sweep.function(containing: target), functions[implementation].start == target,
                      aside[implementation] == nil else { continue }
                aside[implementation] = Reason(rule: .ifunc, why: "returned by the IFUNC resolver \(chooser)")
            }
        }
        // What only dispatched code calls is dispatched too (a call graph only when there is any).
        var callers: [Int: Set<Int>] = [:]
        for (index, f) in functions.enumerated() where !aside.isEmpty {
            for target in f.branchTargets {
                if let callee = sweep.function(containing: target), callee != index { callers[callee, default: []].insert(index) }
            }
        }
        var changed = !aside.isEmpty
        while changed {
            changed = false
            for (callee, from) in callers where aside[callee] == nil && from.allSatisfy({ aside[$0]?.rule == .ifunc }) {
                aside[callee] = Reason(rule: .ifunc, why: "called only from IFUNC-dispatched code")
                changed = true
            }
        }
        // Rule C, where it matters: functions with code above baseline.
        for (index, f) in functions.enumerated() where aside[index] == nil && !f.above.isEmpty {
            if let name = f.name, let word = extensionWord(in: name) {
                aside[index] = Reason(rule: .symbolName, why: "named for an extension (\(word))")
            }
        }
        return aside
    }
}
