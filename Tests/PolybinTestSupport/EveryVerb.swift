import Foundation
import Testing

/// Every verb of the CLI and every output option of each, read from the CLI's own description
/// of itself (`polybin --experimental-dump-help`), not typed here: a new verb or a new output
/// option is covered by the tests that loop over them (OutputRuleTests, LimitsTests), and one
/// that `arguments` cannot yet call fails them until it is added there.
package enum EveryVerb {
    /// A verb and one option it writes a file to (`--output`, `--header`, ...).
    package struct Output: CustomStringConvertible, Sendable {
        package let verb: String
        package let option: String
        package var description: String { "\(verb) \(option)" }
    }

    /// The verbs and, for each, its output options: options whose help says they write.
    package static func all() throws -> [(verb: String, outputs: [String])] { try BuildOnce.value("EveryVerb", readHelp) }

    private static func readHelp() throws -> [(verb: String, outputs: [String])] {
        let dump = try run(TestEnvironment.polybin, ["--experimental-dump-help"])
        guard dump.status == 0, let json = try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any],
              let command = json["command"] as? [String: Any], let verbs = command["subcommands"] as? [[String: Any]] else {
            throw FixtureError("polybin --experimental-dump-help: \(dump.err)")
        }
        return verbs.compactMap { verb in
            guard let name = verb["commandName"] as? String, name != "help" else { return nil }
            let outputs = ((verb["arguments"] as? [[String: Any]]) ?? []).compactMap { argument -> String? in
                guard (argument["abstract"] as? String ?? "").lowercased().contains("write"),
                      let names = argument["names"] as? [[String: Any]],
                      let long = names.first(where: { $0["kind"] as? String == "long" })?["name"] as? String else { return nil }
                return "--\(long)"
            }
            return (name, outputs)
        }
    }

    package static var verbs: [String] { ((try? all()) ?? []).map(\.verb) }

    package static var outputs: [Output] {
        ((try? all()) ?? []).flatMap { verb in verb.outputs.map { Output(verb: verb.verb, option: $0) } }
    }

    /// Inputs every verb can run on, copied into `dir` under fixed names (a program, a bundle,
    /// a payload object, a fatbin, a text file), so a run in `dir` names them relatively.
    package static func copyInputs(into dir: URL) throws {
        let demo = try DemoFixture.get()
        let inputs = try VerbInputs.get()
        for (from, name) in [(demo.builds["x86-64"]!, "prog"), (inputs.bundle, "in.bundle"),
                             (inputs.payloadObject, "in.o"), (demo.fatbin, "in.fatbin")] {
            try FileManager.default.copyItem(atPath: from, toPath: dir.appendingPathComponent(name).path)
        }
        try Data("hello\n".utf8).write(to: dir.appendingPathComponent("a.txt"))
    }

    /// The names `copyInputs` makes.
    package static let inputNames = ["a.txt", "in.bundle", "in.fatbin", "in.o", "prog"]

    /// A run of `verb` on the inputs of `copyInputs` (or, with `missingInputs`, on names that
    /// do not exist) writing `output` through `option` (nil: the verb's first output, if any);
    /// any other output goes to `rest` (a name in the run's directory).
    /// Nil for a verb this table does not know yet: add it.
    package static func arguments(_ verb: String, option: String? = nil, output: String = "out", rest: String = "rest",
                          missingInputs: Bool = false) -> [String]? {
        func input(_ name: String) -> String { missingInputs ? "missing-\(name)" : name }
        switch (verb, option ?? "--output") {
        case ("build", "--output"), ("pack", "--output"):
            return [verb, "--level", "1", "--flavor", "x86-64=\(input("prog"))", "-o", output]
        case ("object", "--output"), ("generate-c", "--output"):
            return [verb, input("in.bundle"), "-o", output]
        case ("link", "--output"):
            return [verb, input("in.o"), "-o", output]
        case ("extract", "--output"):
            return [verb, input("in.fatbin"), "--flavor", "x86-64", "-o", output]
        case ("embed", "--output"):
            return [verb, "--name", "a", "-o", output, input("a.txt")]
        case ("embed", "--header"):
            return [verb, "--name", "a", "-o", rest, "--header", output, input("a.txt")]
        case ("embed", "--depfile"):
            return [verb, "--name", "a", "--mode", "c", "-o", rest, "--depfile", output, input("a.txt")]
        case ("embed", "--bundle"):
            return [verb, "--name", "a", "--mode", "c-embed", "-o", rest, "--bundle", output, input("a.txt")]
        case ("inspect", _), ("explain", _), ("audit", _):
            return [verb, input("in.fatbin")]
        case ("cpu", _), ("levels", _):
            return [verb]
        default:
            return nil
        }
    }

    /// Whether the verb's output is an executable (mode 0755).
    package static func writesExecutable(_ verb: String) -> Bool { ["build", "link", "extract"].contains(verb) }
}
