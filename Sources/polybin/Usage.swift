import ArgumentParser
import PolybinKit

extension Polybin {
    /// ArgumentParser's main with two habits added: a mistyped subcommand gets a suggestion
    /// ("did you mean build?"; mistyped options get one from ArgumentParser itself), and a
    /// usage error is one `polybin:` line naming the help to read, like every other error.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if let word = arguments.first, let problem = unknownSubcommand(word) { throw ValidationError(problem) }
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            // --help, --version, completion scripts, and verbs that already said why they failed.
            if exitCode(for: error) == .success || error is ExitCode { exit(withError: error) }
            var line = message(for: error).split(separator: "\n").joined(separator: "; ")
            if let help = helpHint(fullMessage(for: error)) { line += " (see '\(help)')" }
            StandardError.write("polybin: \(line)\n")
            // Status 1 like every other refusal (README, "Pipeline verbs"), not ArgumentParser's 64.
            exit(withError: ExitCode(1))
        }
    }

    /// Subcommand names as typed, ArgumentParser's `help` included.
    static var subcommandNames: [String] { configuration.subcommands.map { $0._commandName } + ["help"] }

    /// nil when `word` is an option or a subcommand; else why not, with the likely intent.
    static func unknownSubcommand(_ word: String) -> String? {
        guard !word.hasPrefix("-"), !subcommandNames.contains(word) else { return nil }
        if let near = Suggestion.closest(to: word, among: subcommandNames) {
            return "unknown command '\(word)'; did you mean '\(near)'?"
        }
        return "unknown command '\(word)'; the commands are \(subcommandNames.dropLast().joined(separator: ", "))"
    }

    /// "polybin embed --help" out of ArgumentParser's "See 'polybin embed --help' for more information."
    static func helpHint(_ full: String) -> String? {
        guard let start = full.range(of: "See '"), let end = full[start.upperBound...].firstIndex(of: "'") else { return nil }
        return String(full[start.upperBound..<end])
    }
}
