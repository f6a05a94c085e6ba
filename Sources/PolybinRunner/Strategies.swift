import CPolybin

/// The strategies of an order (pb_exec_order.h), first tried first: the order packed into the
/// fatbin (`polybin build --exec`, decoded by pb_bundle_open), or POLYBIN_EXEC's (Variables).
func strategies(_ order: pb_exec_order) -> [UInt32] {
    var list: [UInt32] = []
    withUnsafeBytes(of: order.strategies) { raw in
        for i in 0..<Int(order.count) { list.append(UInt32(raw[i])) }
    }
    return list
}

/// $POLYBIN_CACHE_DIR, else $XDG_CACHE_HOME/polybin, else $HOME/.cache/polybin when HOME
/// exists and belongs to the effective user: a HOME of /nonexistent (daemons, `nobody`) must
/// not be created, and root running with another user's HOME (`sudo -E`, a setuid program)
/// must not leave a root-owned `~/.cache` there.
func cacheDirectory(_ variables: Variables) -> Text? {
    if let explicit = variables.cacheDirectory { return explicit }
    var dir = Text()
    if let xdg = CText.environment("XDG_CACHE_HOME"), xdg.isAbsolutePath {
        dir.add(xdg.pointer)
        dir.add("/polybin")
    } else if let home = CText.environment("HOME"), home.isAbsolutePath, pb_is_directory(home.pointer) != 0,
              pb_owned_by_me(home.pointer) != 0 {
        dir.add(home.pointer)
        dir.add("/.cache/polybin")
    } else {
        return nil
    }
    return dir
}

/// Tries each strategy in turn; returns only by exiting with the runner's failure codes.
func launch(
    _ bundle: inout pb_bundle, index: UInt32, order: pb_exec_order, _ variables: Variables, announce: Text,
    argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Never {
    let name = entry(&bundle, index).name!
    let secure = pb_secure_exec() != 0
    var reasons = Text()
    pb_limits_for_rebuild()
    let log = variables.log
    announce.withCString { announcePointer in
        withUnsafePointer(to: &bundle) { bundlePointer in
            var state = pb_launch()
            state.announce = log ? announcePointer : nil
            state.bundle = bundlePointer
            state.index = index
            state.argv = UnsafePointer(argv)
            state.envp = UnsafePointer(envp)
            // A secure exec runs from memfd only: the cache and temporary directories are places
            // the caller can name, write or plant files in (docs/runner.md, "setuid and setgid fatbins").
            for strategy in secure ? [UInt32(PB_STRATEGY_MEMFD.rawValue)] : strategies(order) {
                var result: Int32
                switch strategy {
                case UInt32(PB_STRATEGY_CACHE.rawValue):
                    if let dir = cacheDirectory(variables) {
                        result = dir.withCString { pb_launch_cache(&state, $0, variables.cacheMax) }
                    } else {
                        result = Int32(PB_LAUNCH_UNAVAILABLE.rawValue)
                        setDetail(&state, "cache: no POLYBIN_CACHE_DIR or XDG_CACHE_HOME, and HOME is not an existing absolute directory of this user")
                    }
                case UInt32(PB_STRATEGY_MEMFD.rawValue):
                    result = pb_launch_memfd(&state, name)
                default:
                    result = withTemporaryDirectories { pb_launch_tmpfile(&state, $0) }
                }
                var detail = Text()
                withUnsafeBytes(of: &state.detail) { raw in
                    detail.add(raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if result == Int32(PB_LAUNCH_CORRUPT.rawValue) {
                    failLaunch(RunnerExit.corruptPayload, "corrupt payload: ", name, detail)
                }
                if result == Int32(PB_LAUNCH_REFUSED.rawValue) {
                    failLaunch(RunnerExit.noStrategyWorked, "could not execute ", name, detail)
                }
                if log {
                    var line = Text()
                    line.add("polybin: ")
                    line.add(detail)
                    line.writeLine(to: 2)
                }
                if !reasons.isEmpty { reasons.add("; ") }
                reasons.add(detail)
            }
        }
    }
    var message = Text()
    message.add("could not execute ")
    message.add(name)
    message.add(": ")
    message.add(reasons)
    if secure {
        message.add("; a setuid/setgid fatbin runs only from memfd, never from a cache or temporary directory")
    }
    fail(RunnerExit.noStrategyWorked, message)
}

/// `PREFIX NAME: DETAIL`, the line for a strategy's result that ends the search.
func failLaunch(_ code: Int32, _ prefix: StaticString, _ name: UnsafePointer<CChar>, _ detail: Text) -> Never {
    var message = Text()
    message.add(prefix)
    message.add(name)
    message.add(": ")
    message.add(detail)
    fail(code, message)
}

func setDetail(_ state: inout pb_launch, _ literal: StaticString) {
    withUnsafeMutableBytes(of: &state.detail) { raw in
        let count = min(literal.utf8CodeUnitCount, raw.count - 1)
        literal.withUTF8Buffer { source in
            for i in 0..<count { raw[i] = source[i] }
        }
        raw[count] = 0
    }
}

/// $TMPDIR, /tmp, /dev/shm, /var/tmp: the places a temporary executable may live.
func withTemporaryDirectories(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Int32) -> Int32 {
    let fixed: [StaticString] = ["/tmp", "/dev/shm", "/var/tmp"]
    var list: [UnsafePointer<CChar>?] = []
    if let tmpdir = CText.environment("TMPDIR"), tmpdir.isAbsolutePath { list.append(tmpdir.pointer) }
    for dir in fixed { list.append(UnsafeRawPointer(dir.utf8Start).assumingMemoryBound(to: CChar.self)) }
    list.append(nil)
    return list.withUnsafeBufferPointer { body($0.baseAddress!) }
}
