import ArgumentParser
import PolybinKit

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show which machines a build runs on: CPU level, libraries, runtime versions, distributions, kernel.",
        discussion: """
            For each ELF program or library (64-bit x86-64 or aarch64), and each build inside a fatbin: static or \
            dynamic, the interpreter, DT_NEEDED resolved as the loader would, the newest versioned symbol needed \
            from each library and the distributions that have it, the ABI note's minimum kernel, the x86 ISA \
            property note, and (x86-64, with Zydis installed) the lowest CPU level the program's own code needs, \
            dispatched code set aside by rule. Exit 1 when a file cannot be audited (one line each) or the \
            disassembler is missing (after the other sections). docs/audit.md.
            """)

    @Argument(help: "ELF programs, libraries or fatbins.") var files: [String]
    @Flag(help: "Print JSON (an array, one report per file).") var json = false
    @Flag(name: .customLong("no-cpu"), help: "Leave out the CPU section (no code sweep).") var noCPU = false

    func run() throws {
        var options = Audit.Options()
        options.cpu = !noCPU
        var reports: [AuditReport] = []
        var failed = false
        for file in files {
            do {
                let report = try Audit.report(file, options: options)
                if json { reports.append(report) } else { print(try Audit.render(report, json: false), terminator: "") }
                if let missing = Audit.missingDisassembler(report) {
                    StandardError.write("polybin: \(file): \(missing)\n")
                    failed = true
                }
            } catch let error as PolybinError {
                StandardError.write("polybin: \(error.message)\n")
                failed = true
            } catch let error as SystemError {
                StandardError.write("polybin: \(error)\n")
                failed = true
            }
        }
        if json { print(try Fatbin.json(reports), terminator: "") }
        if failed { throw ExitCode(1) }
    }
}
