import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// TESTING.md, "Files Polybin did not make": every verb that reads a fatbin, bundle or payload
/// object answers any file with exactly one `polybin: FILE: ...` line and exit 1, never
/// crashes, and writes nothing; outputs that would replace an input are refused; linker
/// failures are one line without Polybin's temporary names.
@Suite struct BadInputVerbTests {
    /// The files, made once per test process from the demo fatbin (shared with EveryVerb).
    typealias Inputs = VerbInputs

    /// `arguments` run in a fresh directory (where every OUT goes): one `polybin: FILE:` line
    /// on stderr, nothing on stdout, exit 1, the directory still empty. Returns the line.
    @discardableResult
    static func refused(_ arguments: [String], naming file: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let cwd = try TestEnvironment.temporaryDirectory("polybin-badverb-out")
        defer { try? FileManager.default.removeItem(at: cwd) }
        let result = try run(TestEnvironment.polybin, arguments, cwd: cwd)
        let label = arguments.joined(separator: " ")
        #expect(result.status == 1 && !result.signaled, "\(label): exit \(result.status): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(label): printed \(result.out)", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("polybin: \(file): ") && result.err.hasSuffix("\n") && result.err.filter { $0 == "\n" }.count == 1,
                "\(label): not one polybin: \(file): line: \(result.err.debugDescription)", sourceLocation: sourceLocation)
        let left = try FileManager.default.contentsOfDirectory(atPath: cwd.path)
        #expect(left.isEmpty, "\(label): wrote \(left)", sourceLocation: sourceLocation)
        return result.err
    }

    static func verbs(_ file: String) -> [[String]] {
        [["inspect", file], ["inspect", "--json", file], ["explain", file], ["extract", file, "--flavor", "x86-64", "-o", "out"],
         ["object", file, "-o", "out.o"], ["generate-c", file, "-o", "out.c"],
         ["link", file, "-o", "out", "--runner", TestEnvironment.runnerArchive]]
    }

    @Test func everyVerbAnswersAnyFileWithOneLine() throws {
        let inputs = try Inputs.get()
        for (label, file) in inputs.foreign {
            for arguments in Self.verbs(file) {
                let line = try Self.refused(arguments, naming: file)
                let verb = arguments[0]
                if ["inspect", "explain", "extract"].contains(verb) {
                    switch label {
                    case "stripped fatbin":
                        #expect(line == "polybin: \(file): a polybin fatbin whose payload is gone: its .polybin section was stripped\n", "\(verb): \(line)")
                    case "fatbin with a corrupted magic byte":
                        #expect(line.contains("corrupt payload: its .polybin section holds no bundle"), "\(verb): \(line)")
                    case "fatbin with a corrupted header byte", "fatbin cut 100 bytes short of its bundle's end":
                        #expect(line.hasPrefix("polybin: \(file): corrupt payload: "), "\(verb) \(label): \(line)")
                    case "directory":
                        #expect(line == "polybin: \(file): is a directory, not a file\n", "\(verb): \(line)")
                    default:
                        #expect(line == "polybin: \(file): holds no polybin payload\n", "\(verb) \(label): \(line)")
                    }
                }
            }
        }
    }

    /// object and generate-c take a bundle file exactly as packed; link a payload object.
    @Test func damagedBundlesAndPayloadObjectsAreRefused() throws {
        let inputs = try Inputs.get()
        let bundle = [UInt8](try Data(contentsOf: URL(fileURLWithPath: inputs.bundle)))
        let dir = try TestEnvironment.temporaryDirectory("polybin-badverb-bundles")
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        var corrupt = bundle
        corrupt[20] ^= 0x40
        let truncated = Array(bundle.dropLast(100))
        let bundles = [try write("corrupt.bundle", corrupt), try write("truncated.bundle", truncated),
                       try write("padded.bundle", bundle + [0, 0, 0, 0])]
        for file in bundles {
            for verb in ["object", "generate-c"] {
                try Self.refused([verb, file, "-o", "out"], naming: file)
            }
        }

        // Payload objects the runner could not run: each would link today into a fatbin that
        // fails at its first launch, or into a program with no runner at all.
        let emitter = ObjectEmitter(section: Fatbin.payloadSection)
        let cutShort = try write("cut-short.o", emitter.object(for: truncated))
        let corruptObject = try write("corrupt.o", emitter.object(for: corrupt))
        let otherSymbol = try write("other-symbol.o", ObjectEmitter(symbol: "assets", section: Fatbin.payloadSection).object(for: bundle))
        let main = dir.appendingPathComponent("main.c").path
        try Data("int main(void) { return 0; }\n".utf8).write(to: URL(fileURLWithPath: main))
        let mainObject = dir.appendingPathComponent("main.o").path, withMain = dir.appendingPathComponent("with-main.o").path
        #expect(try run("cc", ["-c", main, "-o", mainObject]).status == 0)
        #expect(try run("ld", ["-r", inputs.payloadObject, mainObject, "-o", withMain]).status == 0)
        let files = dir.appendingPathComponent("files.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: files))
        let embedded = dir.appendingPathComponent("embedded.o").path
        #expect(try run(TestEnvironment.polybin, ["embed", "--name", "assets", "-o", embedded, files]).status == 0)

        let expected = [
            (cutShort, "corrupt payload: bundle is truncated"),
            (corruptObject, "corrupt payload: "),
            (otherSymbol, "does not define polybin_bundle and polybin_bundle_size"),
            (withMain, "defines main, which would replace the runner's"),
            (embedded, "holds embedded files, not fatbin builds"),
        ]
        for (object, problem) in expected {
            let line = try Self.refused(["link", object, "-o", "out", "--runner", TestEnvironment.runnerArchive], naming: object)
            #expect(line.hasPrefix("polybin: \(object): \(problem)"), "\(line)")
        }
        // explain on embedded files says so instead of treating files as flavors.
        let explain = try Self.refused(["explain", embedded], naming: embedded)
        #expect(explain.contains("it holds embedded files, not builds"), "\(explain)")
    }

    /// inspect shows an embedded-files bundle as files (name, size, stored size, codec,
    /// SHA-256), in text and JSON, with no builds, levels or exec order.
    @Test func inspectListsEmbeddedFiles() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-badverb-files")
        defer { try? FileManager.default.removeItem(at: dir) }
        let contents: [String: [UInt8]] = ["a.txt": Array("hello\n".utf8),
                                           "big.txt": Array(repeating: 0x61, count: 100_000)]
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        for (name, bytes) in contents { try Data(bytes).write(to: tree.appendingPathComponent(name)) }
        let object = dir.appendingPathComponent("assets.o").path
        let made = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "--compress", "-o", object, tree.path])
        #expect(made.status == 0, "\(made.err)")

        let text = try run(TestEnvironment.polybin, ["inspect", object])
        #expect(text.status == 0, "\(text.err)")
        let lines = text.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("\(object): embedded files, ") == true && lines.first?.hasSuffix(", 2 files") == true, "\(text.out)")
        #expect(!text.out.contains("level") && !text.out.contains("exec order"), "\(text.out)")

        let json = try JSONDecoder().decode(Fatbin.Report.self, from: run(TestEnvironment.polybin, ["inspect", "--json", object]).stdout)
        #expect(json.kind == "files" && json.flavors == nil && json.exec_order == nil && json.arch == nil)
        let files = try #require(json.files)
        #expect(files.map(\.name).sorted() == ["a.txt", "big.txt"])
        for file in files {
            let bytes = try #require(contents[file.name])
            #expect(file.size == UInt64(bytes.count) && file.sha256 == SHA256.hex(SHA256.digest(bytes)), "\(file)")
            let line = "  \(file.name)  \(file.size) bytes  stored \(file.stored_size) (\(file.codec))  sha256 \(file.sha256)"
            #expect(lines.contains(line), "text lacks \(line): \(text.out)")
        }
        let big = try #require(files.first { $0.name == "big.txt" })
        #expect(big.codec == "zstd" && big.stored_size < big.size, "\(big)")
    }

    /// An output that names one of the verb's inputs, however spelled, is refused and the
    /// input stays as it was.
    @Test func outputsThatWouldReplaceAnInputAreRefused() throws {
        let inputs = try Inputs.get()
        let demo = try DemoFixture.get()
        let dir = try TestEnvironment.temporaryDirectory("polybin-badverb-overwrite")
        defer { try? FileManager.default.removeItem(at: dir) }
        func copy(_ source: String, _ name: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try FileManager.default.copyItem(atPath: source, toPath: path)
            return path
        }
        let build = try copy(demo.builds["x86-64"]!, "build")
        let fatbin = try copy(demo.fatbin, "fatbin")
        let bundle = try copy(inputs.bundle, "demo.bundle")
        let object = try copy(inputs.payloadObject, "demo.o")
        let runner = TestEnvironment.runnerArchive
        let cases: [(arguments: [String], victim: String)] = [
            (["build", "-o", build, "--runner", runner, "--flavor", "x86-64=\(build)"], build),
            (["build", "-o", dir.path + "/./build", "--runner", runner, "--flavor", "x86-64=\(build)"], build),
            (["pack", "-o", build, "--flavor", "x86-64=\(build)"], build),
            (["object", bundle, "-o", bundle], bundle),
            (["generate-c", bundle, "-o", bundle], bundle),
            (["link", object, "-o", object, "--runner", runner], object),
            (["extract", fatbin, "--flavor", "x86-64", "-o", fatbin], fatbin),
        ]
        for (arguments, victim) in cases {
            let before = try Data(contentsOf: URL(fileURLWithPath: victim))
            let output = arguments[arguments.firstIndex(of: "-o")! + 1]
            let line = try Self.refusedInPlace(arguments, naming: output)
            #expect(line.contains("writing it would replace that input"), "\(arguments.joined(separator: " ")): \(line)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == before, "\(arguments[0]) changed its input")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == ["build", "demo.bundle", "demo.o", "fatbin"], "\(left)")
    }

    /// Like `refused`, for commands whose outputs name existing files.
    static func refusedInPlace(_ arguments: [String], naming file: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(TestEnvironment.polybin, arguments)
        #expect(result.status == 1 && result.stdout.isEmpty, "\(arguments.joined(separator: " ")): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("polybin: \(file): ") && result.err.filter { $0 == "\n" }.count == 1,
                "\(result.err.debugDescription)", sourceLocation: sourceLocation)
        return result.err
    }

    /// A failing link is one line in Polybin's words, naming the output, never the temporary
    /// file it was written to. (An output in a missing directory is refused before the link:
    /// OutputRuleTests.)
    @Test func linkerErrorsAreOneLineWithoutTemporaryNames() throws {
        let inputs = try Inputs.get()
        let demo = try DemoFixture.get()
        let cwd = try TestEnvironment.temporaryDirectory("polybin-badverb-link")
        defer { try? FileManager.default.removeItem(at: cwd) }
        let garbage = cwd.appendingPathComponent("garbage.a").path
        try Data("not an archive\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let cases: [(arguments: [String], output: String)] = [
            (["link", inputs.payloadObject, "-o", "app", "--runner", garbage], "app"),
            (["link", inputs.payloadObject, "-o", "app", "--cc", "/bin/false", "--runner", TestEnvironment.runnerArchive], "app"),
            (["build", "-o", "app", "--runner", garbage, "--flavor", "x86-64=\(demo.builds["x86-64"]!)"], "app"),
        ]
        for (arguments, output) in cases {
            let result = try run(TestEnvironment.polybin, arguments, cwd: cwd)
            let label = arguments.joined(separator: " ")
            #expect(result.status == 1 && result.stdout.isEmpty, "\(label): \(result.err)")
            #expect(result.err.hasPrefix("polybin: \(output): linking with the runner: ") && result.err.filter { $0 == "\n" }.count == 1,
                    "\(label): \(result.err.debugDescription)")
            #expect(!result.err.contains(".tmp-") && !result.err.contains("payload.o") && !result.err.hasSuffix(": \n"), "\(label): \(result.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: cwd.path) == ["garbage.a"], "\(label) left files")
        }
    }
}
