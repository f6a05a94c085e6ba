import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// The command line's habits (docs/command-line.md, "Command line"): one version, suggestions for typos,
/// typed choices that help and completion list, and options that would be ignored refused.
@Suite struct CommandLineTests {
    /// Runs polybin in a fresh directory; the result and what the directory holds afterwards.
    func polybin(_ arguments: [String]) throws -> (result: ProcessResult, left: [String]) {
        let dir = try TestEnvironment.temporaryDirectory("polybin-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run(TestEnvironment.polybin, arguments, cwd: dir)
        return (result, try FileManager.default.contentsOfDirectory(atPath: dir.path))
    }

    /// One `polybin:` line on stderr, nothing on stdout, status 1, no file written.
    func refusal(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (result, left) = try polybin(arguments)
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.out.isEmpty, sourceLocation: sourceLocation)
        #expect(left.isEmpty, "wrote \(left) although it refused", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("polybin: ") && result.err.filter { $0 == "\n" }.count == 1,
                "not one polybin: line: \(result.err)", sourceLocation: sourceLocation)
        return result.err
    }

    @Test func versionComesFromPolybinKitAndAppearsInInspectJSON() throws {
        let version = try polybin(["--version"]).result
        #expect(version.status == 0)
        #expect(version.out == "\(PolybinVersion.current)\n")

        let demo = try DemoFixture.get()
        let inspect = try run(TestEnvironment.polybin, ["inspect", "--json", demo.fatbin])
        #expect(inspect.status == 0)
        let json = try JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any]
        #expect(json?["polybin_version"] as? String == PolybinVersion.current)
    }

    @Test func aMistypedSubcommandGetsASuggestion() throws {
        #expect(try refusal(["bulid", "-o", "app"]) == "polybin: unknown command 'bulid'; did you mean 'build'? (see 'polybin --help')\n")
        #expect(try refusal(["inpsect", "app"]) == "polybin: unknown command 'inpsect'; did you mean 'inspect'? (see 'polybin --help')\n")
        #expect(try refusal(["frobnicate"]) == "polybin: unknown command 'frobnicate'; the commands are build, pack, object, generate-c, link, inspect, explain, extract, cpu, levels, audit, embed (see 'polybin --help')\n")
    }

    @Test func aMistypedOptionGetsASuggestion() throws {
        let err = try refusal(["build", "--levle", "3", "-o", "app", "--flavor", "x86-64=/bin/true"])
        #expect(err == "polybin: Unknown option '--levle'. Did you mean '--level'? (see 'polybin build --help')\n")
    }

    @Test func aMistypedOptionIsNamedEvenWhenARequiredOneIsMissing() throws {
        #expect(try refusal(["build", "--flavr", "x86-64=/bin/true"])
                == "polybin: Unknown option '--flavr'. Did you mean '--flavor'? (see 'polybin build --help')\n")
        #expect(try refusal(["embed", "--nmae", "a", "-o", "a.o"])
                == "polybin: Unknown option '--nmae'. Did you mean '--name'? (see 'polybin embed --help')\n")
        // Only missing: still said so.
        #expect(try refusal(["build", "--flavor", "x86-64=/bin/true"])
                == "polybin: Missing expected argument '--output <output>' (see 'polybin build --help')\n")
    }

    @Test func targetIsATypedChoiceInHelpCompletionAndParsing() throws {
        for verb in ["embed", "object", "generate-c"] {
            let help = try polybin([verb, "--help"]).result
            #expect(help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("(values: x86-64, aarch64)"), "\(verb) --help")
        }
        let bash = try polybin(["--generate-completion-script", "bash"]).result.out
        let cases = bash.components(separatedBy: "'--target')").dropFirst()
        #expect(cases.count == 3, "a --target case per verb that has it")
        for completion in cases { #expect(completion.prefix(120).contains("'x86-64'$'\\n''aarch64'"), "\(completion.prefix(120))") }
        #expect(try refusal(["object", "x.bundle", "-o", "x.o", "--target", "sparc"])
                == "polybin: The value 'sparc' is invalid for '--target <target>'. Please provide one of 'x86-64' and 'aarch64'. (see 'polybin object --help')\n")

        // generate-c refuses another architecture's fatbin, as its help says.
        let demo = try DemoFixture.get()
        let dir = try TestEnvironment.temporaryDirectory("polybin-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = dir.appendingPathComponent("demo.bundle").path
        #expect(try run(TestEnvironment.polybin, ["pack", "-o", bundle, "--level", "1", "--flavor", "x86-64=\(demo.builds["x86-64"]!)"]).status == 0)
        #expect(try refusal(["generate-c", bundle, "-o", "demo.c", "--target", "aarch64"])
                == "polybin: \(bundle): a fatbin of x86-64 builds cannot be emitted for --target aarch64\n")
        #expect(try polybin(["generate-c", bundle, "-o", "demo.c", "--target", "x86-64"]).result.status == 0)
    }

    @Test func suggestionsAreCloseOrAbsent() {
        let verbs = ["build", "pack", "object", "generate-c", "link", "inspect", "explain", "extract", "cpu", "embed"]
        #expect(Suggestion.closest(to: "bulid", among: verbs) == "build")
        #expect(Suggestion.closest(to: "emebd", among: verbs) == "embed")
        #expect(Suggestion.closest(to: "generate", among: verbs) == "generate-c")
        #expect(Suggestion.closest(to: "extrac", among: verbs) == "extract")
        #expect(Suggestion.closest(to: "cp", among: verbs) == nil, "one edit of two letters is a guess, not a typo")
        #expect(Suggestion.closest(to: "frobnicate", among: verbs) == nil)
        #expect(Suggestion.distance("bulid", "build") == 1)
        #expect(Suggestion.distance("", "cpu") == 3)
    }

    @Test func fixedChoicesAreListedInHelpAndOfferedByCompletion() throws {
        let help = try polybin(["embed", "--help"]).result
        #expect(help.status == 0)
        let words = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("(values: object, c, c-embed, c-incbin; default: object)"))
        for shell in ["bash", "zsh", "fish"] {
            let script = try polybin(["--generate-completion-script", shell]).result
            #expect(script.status == 0)
            for choice in ["c-incbin", "tmpfile,memfd,cache", "auto", "x86-64-v4"] {
                #expect(script.out.contains(choice), "\(shell) completion does not offer \(choice)")
            }
        }
    }

    @Test func typedChoicesReachThePacker() throws {
        let demo = try DemoFixture.get()
        let dir = try TestEnvironment.temporaryDirectory("polybin-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = dir.appendingPathComponent("demo.bundle").path
        let pack = try run(TestEnvironment.polybin, ["pack", "-o", bundle, "--level", "1", "--reference", "x86-64-v3",
                                                     "--exec", "tmpfile,memfd",
                                                     "--flavor", "x86-64=\(demo.builds["x86-64"]!)",
                                                     "--flavor", "x86-64-v3=\(demo.builds["x86-64-v3"]!)"])
        #expect(pack.status == 0, "\(pack.err)")
        let report = try JSONDecoder().decode(Fatbin.Report.self, from: run(TestEnvironment.polybin, ["inspect", "--json", bundle]).stdout)
        #expect(report.exec_order == ["tmpfile", "memfd"])
        #expect(report.flavors?.first { $0.name == "x86-64" }?.reference == "x86-64-v3")
    }

    @Test func badChoicesAreRefusedWithOneLine() throws {
        #expect(try refusal(["embed", "--name", "a", "--mode", "xxd", "-o", "a.o"])
                == "polybin: The value 'xxd' is invalid for '--mode <mode>'. Please provide one of 'object', 'c', 'c-embed' or 'c-incbin'. (see 'polybin embed --help')\n")
        #expect(try refusal(["build", "-o", "app", "--exec", "cache,fast", "--flavor", "x86-64=/bin/true"])
                .contains("'fast' is not one of cache, memfd, tmpfile"))
    }

    @Test func optionsThatWouldBeIgnoredAreRefused() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("x".utf8).write(to: dir.appendingPathComponent("file.txt"))
        let input = dir.appendingPathComponent("file.txt").path
        #expect(try refusal(["embed", "--name", "a", "-o", "a.o", "--level", "9", input])
                == "polybin: --level is the zstd level of --compress: add --compress, or drop --level (see 'polybin embed --help')\n")
        for option in [["--depfile", "a.d"], ["--bundle", "a.bundle"], ["--compress"]] {
            #expect(try refusal(["embed", "--name", "a", "--header", "a.h"] + option)
                    == "polybin: \(option[0]) needs -o: without -o only --header is written (see 'polybin embed --help')\n")
        }
    }
}
