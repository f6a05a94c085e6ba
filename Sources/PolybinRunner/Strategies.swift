import CPolybin

/// The exec strategies in the order to try them.
struct ExecOrder {
    var strategies: [UInt32] = []

    var names: Text {
        var text = Text()
        for (i, s) in strategies.enumerated() {
            if i > 0 { text.add(",") }
            text.add(name(of: s))
        }
        return text
    }

    func name(of strategy: UInt32) -> StaticString {
        switch strategy {
        case UInt32(PB_STRATEGY_CACHE.rawValue): return "cache"
        case UInt32(PB_STRATEGY_MEMFD.rawValue): return "memfd"
        default: return "tmpfile"
        }
    }
}

/// POLYBIN_EXEC=cache,memfd,tmpfile (any subset, any order) overrides the order packed
/// into the fatbin (`polybin build --exec`).
func execOrder(_ bundle: pb_bundle) -> ExecOrder {
    var order = ExecOrder()
    guard let spec = CText.environment("POLYBIN_EXEC") else {
        // Decoded and validated by the C reader (pb_bundle_open).
        let s = bundle.exec_strategies
        for code in [s.0, s.1, s.2].prefix(Int(bundle.exec_count)) { order.strategies.append(UInt32(code)) }
        return order
    }
    var start = 0
    let length = spec.count
    while start <= length {
        var end = start
        while end < length && spec.pointer[end] != 0x2C { end += 1 }
        let word = CText(pointer: spec.pointer + start)
        let strategy: UInt32
        if matches(word, end - start, "cache") {
            strategy = UInt32(PB_STRATEGY_CACHE.rawValue)
        } else if matches(word, end - start, "memfd") {
            strategy = UInt32(PB_STRATEGY_MEMFD.rawValue)
        } else if matches(word, end - start, "tmpfile") {
            strategy = UInt32(PB_STRATEGY_TMPFILE.rawValue)
        } else {
            var message = Text()
            message.add("POLYBIN_EXEC=")
            message.add(spec.pointer)
            message.add(": expected a comma-separated list of cache, memfd, tmpfile")
            fail(RunnerExit.badEnvironment, message)
        }
        if !order.strategies.contains(strategy) { order.strategies.append(strategy) }
        start = end + 1
    }
    return order
}

func matches(_ word: CText, _ length: Int, _ literal: StaticString) -> Bool {
    guard length == literal.utf8CodeUnitCount else { return false }
    return literal.withUTF8Buffer { expected in
        for i in 0..<length where UInt8(bitPattern: word.pointer[i]) != expected[i] { return false }
        return true
    }
}

/// $POLYBIN_CACHE_DIR, else $XDG_CACHE_HOME/polybin, else $HOME/.cache/polybin when HOME
/// exists and belongs to the effective user: a HOME of /nonexistent (daemons, `nobody`) must
/// not be created, and root running with another user's HOME (`sudo -E`, a setuid program)
/// must not leave a root-owned `~/.cache` there.
func cacheDirectory() -> Text? {
    var dir = Text()
    if let explicit = CText.environment("POLYBIN_CACHE_DIR") {
        dir.add(explicit.pointer)
    } else if let xdg = CText.environment("XDG_CACHE_HOME"), xdg.isAbsolutePath {
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

/// POLYBIN_CACHE_MAX in bytes (suffix K, M or G allowed); default 512 MiB.
func cacheLimit() -> UInt64 {
    guard let spec = CText.environment("POLYBIN_CACHE_MAX") else { return 512 << 20 }
    var value: UInt64 = 0
    var i = 0
    while spec.pointer[i] >= 0x30 && spec.pointer[i] <= 0x39 && value < (1 << 50) {
        value = value * 10 + UInt64(spec.pointer[i] - 0x30)
        i += 1
    }
    var shift: UInt64 = 0
    switch spec.pointer[i] {
    case 0: shift = 0
    case 0x4B: shift = 10
    case 0x4D: shift = 20
    case 0x47: shift = 30
    default: shift = 64
    }
    if i == 0 || shift == 64 || (shift > 0 && spec.pointer[i + 1] != 0) {
        var message = Text()
        message.add("POLYBIN_CACHE_MAX=")
        message.add(spec.pointer)
        message.add(": expected bytes, optionally with a K, M or G suffix")
        fail(RunnerExit.badEnvironment, message)
    }
    return value << shift
}

/// Tries each strategy in turn; returns only by exiting with the runner's failure codes.
func launch(
    _ bundle: inout pb_bundle, index: UInt32, order: ExecOrder,
    argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> Never {
    let name = entry(&bundle, index).name!
    let secure = pb_secure_exec() != 0
    var reasons = Text()
    pb_limits_for_rebuild()
    let log = CText.environment("POLYBIN_LOG")?.equals("1") ?? false
    withUnsafePointer(to: &bundle) { bundlePointer in
        var state = pb_launch()
        state.bundle = bundlePointer
        state.index = index
        state.argv = UnsafePointer(argv)
        state.envp = UnsafePointer(envp)
        // A secure exec runs from memfd only: the cache and temporary directories are places
        // the caller can name, write or plant files in (README, "setuid and setgid fatbins").
        for strategy in secure ? [UInt32(PB_STRATEGY_MEMFD.rawValue)] : order.strategies {
            var result: Int32
            switch strategy {
            case UInt32(PB_STRATEGY_CACHE.rawValue):
                if let dir = cacheDirectory() {
                    let limit = cacheLimit()
                    result = dir.withCString { pb_launch_cache(&state, $0, limit) }
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
                var message = Text()
                message.add("corrupt payload: ")
                message.add(name)
                message.add(": ")
                message.add(detail)
                fail(RunnerExit.corruptPayload, message)
            }
            if result == Int32(PB_LAUNCH_REFUSED.rawValue) {
                var message = Text()
                message.add("could not execute ")
                message.add(name)
                message.add(": ")
                message.add(detail)
                fail(RunnerExit.noStrategyWorked, message)
            }
            if log {
                var line = Text()
                line.add("polybin: ")
                line.add(detail)
                line.add("\n")
                line.write(to: 2)
            }
            if !reasons.isEmpty { reasons.add("; ") }
            reasons.add(detail)
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
