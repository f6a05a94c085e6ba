/// What `polybin audit` says about one file: for a program or library one build, for a
/// fatbin each build inside it. Field names are the JSON's (`polybin audit --json`).
public struct AuditReport: Codable, Sendable {
    /// The polybin that wrote this report (PolybinVersion.current).
    public var polybin_version: String
    public var path: String
    /// "elf" or "fatbin".
    public var kind: String
    public var builds: [Build]

    public struct Build: Codable, Sendable {
        /// The flavor's name inside a fatbin; nil for a plain file.
        public var flavor: String?
        /// The level or features a fatbin's flavor is labelled with.
        public var declared: String?
        /// Set when the build's own code needs more than its label: "needs x86-64-v3 (avx2 ...)".
        public var above_declared: String?
        public var arch: String
        /// "program", "position-independent program", "shared library".
        public var type: String
        /// "static" or "dynamic".
        public var linking: String
        public var interpreter: String?
        /// "glibc", "musl", or nil when the interpreter says neither (or a static program).
        public var libc: String?
        public var soname: String?
        public var rpath: String?
        public var runpath: String?
        public var libraries: [Library]
        public var versions: [RuntimeVersions.Need]
        /// "Debian 12 and later", ...; empty for a static or musl program.
        public var runs_on: [String]
        /// "Debian 11 (has GLIBC_2.31)", ...
        public var not_on: [String]
        /// The ABI note's minimum kernel: "3.2.0".
        public var minimum_kernel: String?
        /// GNU property note: "x86 ISA needed" as level names.
        public var x86_isa_needed: [String]?
        public var cpu: CPU?
        /// Why the CPU section is missing (no disassembler, an architecture not audited yet).
        public var cpu_not_audited: String?
    }

    public struct Library: Codable, Sendable, Equatable {
        public var name: String
        /// nil: not found on this machine.
        public var path: String?
        public var found_by: String?
    }

    public struct CPU: Codable, Sendable {
        /// The lowest level the program's own code (what no rule set aside) needs.
        public var needs: String
        /// Features beyond that level it needs too.
        public var extra_features: [String]
        /// The same over all code, dispatched code included: what a tool without rules reports.
        public var all_code_needs: String
        public var all_code_extra_features: [String]
        /// Per ISA set above baseline in the program's own code.
        public var extensions: [Extension]
        /// Functions with above-baseline code that a rule set aside.
        public var set_aside: [SetAside]
        public var functions: Int
        public var bytes: UInt64
        public var instructions: UInt64
        public var undecodable: UInt64
        /// `lzcnt` below v3 runs as `bsr` and gives another answer instead of trapping.
        public var lzcnt_functions: [String]
    }

    public struct Extension: Codable, Sendable {
        /// Zydis' ISA set: "AVX2", "BMI2", "AVX512F_512".
        public var isa_set: String
        public var features: [String]
        public var instructions: Int
        public var functions: [FunctionCount]
    }

    public struct FunctionCount: Codable, Sendable {
        /// The symbol, or "0x401000 (FDE 0x401000-0x401080)" when stripped.
        public var function: String
        public var instructions: Int
        public var first_address: String
        /// aarch64: the first such word's text, as LLVM prints it.
        public var sample: String?
    }

    public struct SetAside: Codable, Sendable {
        public var function: String
        /// "A" (IFUNC closure) or "C" (symbol name).
        public var rule: DispatchRules.Rule
        public var reason: String
        /// ISA set → instructions.
        public var isa_sets: [String: Int]
    }
}
