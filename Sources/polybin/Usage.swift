import ArgumentParser
import PolybinKit

extension Polybin {
    /// ArgumentParser's main with two habits added: a mistyped subcommand gets a suggestion
    /// ("did you mean build?"; mistyped options get one from ArgumentParser itself), and a
    /// usage error is one `polybin:` line naming the help to read, like every other error.
    static func main() {
        FileSizeLimit.failWritesInsteadOfDying()
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            if let word = arguments.first, let problem = unknownSubcommand(word) { throw ValidationError(problem) }
            var command: ParsableCommand
            do {
                command = try parseAsRoot(arguments)
            } catch {
                throw mistypedOptionHiddenBehindAMissingOne(error, arguments) ?? error
            }
            try command.run()
        } catch {
            // --help, --version, completion scripts, and verbs that already said why they failed.
            if exitCode(for: error) == .success || error is ExitCode { exit(withError: error) }
            var line = message(for: error).split(separator: "\n").joined(separator: "; ")
            if let help = helpHint(fullMessage(for: error)) { line += " (see '\(help)')" }
            StandardError.write("polybin: \(line)\n")
            // Status 1 like every other refusal (docs/fatbins.md, "Pipeline verbs"), not ArgumentParser's 64.
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

    /// ArgumentParser reports a missing required argument before an unknown option, so
    /// `polybin build --flavr x` would say "Missing expected argument '--output <output>'"
    /// and hide the typo. Parses again (only parses) with a stand-in for each missing
    /// argument; the unknown-option error (with its suggestion) that shows up, if any.
    static func mistypedOptionHiddenBehindAMissingOne(_ error: Error, _ arguments: [String]) -> Error? {
        var arguments = arguments, current = error
        for _ in 0..<8 {
            let text = message(for: current)
            guard let start = text.firstRange(of: "Missing expected argument '"),
                  let end = text[start.upperBound...].firstIndex(of: "'") else { return nil }
            let missing = text[start.upperBound..<end]
            arguments += missing.hasPrefix("-") ? [String(missing.split(separator: " ")[0]), "x"] : ["x"]
            do {
                _ = try parseAsRoot(arguments)
                return nil
            } catch {
                if message(for: error).hasPrefix("Unknown option") { return error }
                current = error
            }
        }
        return nil
    }

    /// "polybin embed --help" out of ArgumentParser's "See 'polybin embed --help' for more information."
    static func helpHint(_ full: String) -> String? {
        guard let start = full.firstRange(of: "See '"), let end = full[start.upperBound...].firstIndex(of: "'") else { return nil }
        return String(full[start.upperBound..<end])
    }
}
