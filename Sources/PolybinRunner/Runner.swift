import CPolybin
import RunnerEntry

/// The runner's exit codes for its own failures (docs/runner.md, "Exit codes"; pb_exit_codes.h).
enum RunnerExit {
    static let badEnvironment = Int32(PB_EXIT_BAD_ENVIRONMENT)
    static let corruptPayload = Int32(PB_EXIT_CORRUPT_PAYLOAD)
    static let noUsableFlavor = Int32(PB_EXIT_NO_USABLE_FLAVOR)
    static let noStrategyWorked = Int32(PB_EXIT_NO_STRATEGY_WORKED)
}

/// One line on stderr starting `polybin:`, then exit. Never stdout: it belongs to the build.
func fail(_ code: Int32, _ message: Text) -> Never {
    var line = Text()
    line.add("polybin: ")
    line.add(message)
    line.writeLine(to: 2)
    pb_exit(code)
}

func entry(_ bundle: inout pb_bundle, _ index: UInt32) -> pb_entry {
    var e = pb_entry()
    pb_bundle_entry(&bundle, index, &e)
    return e
}

@_cdecl("polybin_runner_main")
public func runnerMain(
    _ argc: Int32,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Int32 {
    pb_guard_truncation(RunnerExit.corruptPayload)
    let variables = Variables.read()
    if pb_mapped(polybin_runner_bundle()) == 0 {
        var message = Text()
        message.add("corrupt payload: the payload is gone from this file (its section was stripped)")
        fail(RunnerExit.corruptPayload, message)
    }
    var bundle = pb_bundle()
    let status = pb_bundle_open(&bundle, polybin_runner_bundle(), polybin_runner_bundle_size())
    // The linked size is exact: a bundle with bytes before or after it is not the one packed.
    let exact = status != PB_OK || bundle.size == polybin_runner_bundle_size()
    if status != PB_OK || !exact || bundle.kind != UInt32(PB_KIND_FATBIN.rawValue) || bundle.count == 0 {
        var message = Text()
        message.add("corrupt payload: ")
        if !exact {
            message.add("the bundle's size disagrees with the size linked with it")
        } else if status == PB_OK {
            message.add("bundle holds no builds")
        } else {
            message.add(pb_status_message(status))
        }
        fail(RunnerExit.corruptPayload, message)
    }
    // Feature bits mean different things per architecture: another one's builds never run here.
    if bundle.arch != pb_host_arch() {
        var message = Text()
        message.add("no usable flavor: the builds are ")
        if let name = pb_arch_name(bundle.arch) { message.add(name) }
        message.add(" and this runner is ")
        if let name = pb_arch_name(pb_host_arch()) { message.add(name) }
        fail(RunnerExit.noUsableFlavor, message)
    }

    let host = pb_cpu_features()
    if variables.explain {
        let chosen = variables.flavor != nil ? Int64(choose(&bundle, host: host, variables)) : pb_select(&bundle, host)
        printDecision(&bundle, host: host, chosen: chosen)
        pb_exit(chosen < 0 ? RunnerExit.noUsableFlavor : 0)
    }
    let chosen = choose(&bundle, host: host, variables)
    let order = variables.exec ?? bundle.exec
    // The decision line, completed with the strategy and place by the C layer immediately
    // before the exec that runs the build (docs/runner.md, "Runner environment").
    var announce = Text()
    if variables.log {
        announce.add("polybin: cpu ")
        announce.add(level: pb_level_of(host))
        announce.add(", running ")
        announce.add(entry(&bundle, chosen).name)
        announce.add(" via ")
    }
    launch(&bundle, index: chosen, order: order, variables, announce: announce, argv: argv, envp: envp)
}

/// POLYBIN_FLAVOR when set (refused when this CPU cannot run it), else the best usable build.
func choose(_ bundle: inout pb_bundle, host: pb_features, _ variables: Variables) -> UInt32 {
    if let forced = variables.flavor {
        let index = pb_bundle_find(&bundle, forced.pointer, forced.count)
        var message = Text()
        message.add("POLYBIN_FLAVOR=")
        message.add(forced.pointer)
        if index < 0 {
            message.add(": no such flavor; this fatbin has:")
            for i in 0..<bundle.count {
                message.add(" ")
                message.add(entry(&bundle, i).name)
            }
            fail(RunnerExit.noUsableFlavor, message)
        }
        let missing = entry(&bundle, UInt32(index)).features & ~host
        if missing != 0 {
            message.add(": this CPU lacks ")
            message.add(features: missing)
            fail(RunnerExit.noUsableFlavor, message)
        }
        return UInt32(index)
    }
    let best = pb_select(&bundle, host)
    if best < 0 {
        var message = Text()
        message.add("no build in this fatbin runs on this CPU (")
        message.add(level: pb_level_of(host))
        message.add("); run with POLYBIN_EXPLAIN=1 to see what each lacks")
        fail(RunnerExit.noUsableFlavor, message)
    }
    return UInt32(best)
}

/// The decision table on stdout, ending with `selected: NAME` (`selected: none`), formatted
/// by the C layer that `polybin explain` formats it with.
func printDecision(_ bundle: inout pb_bundle, host: pb_features, chosen: Int64) {
    let size = pb_explain_format(&bundle, host, chosen, nil, 0)
    var out = [CChar](repeating: 0, count: size + 1)
    out.withUnsafeMutableBufferPointer { buffer in
        _ = pb_explain_format(&bundle, host, chosen, buffer.baseAddress, buffer.count)
        pb_write_all(1, buffer.baseAddress, UInt64(size))
    }
}
