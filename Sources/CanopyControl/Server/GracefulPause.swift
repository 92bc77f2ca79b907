import ServiceLifecycle

/// Waits `duration`, or less when graceful shutdown begins or the task is cancelled. True when the
/// whole duration passed (go on), false when the caller should stop. Both waits are child tasks of
/// one group: when this returns, neither is left running.
func pauseUnlessShuttingDown(for duration: Duration) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask { (try? await Task.sleep(for: duration)) != nil }
        group.addTask {
            try? await gracefulShutdown()
            return false
        }
        let elapsed = await group.next() ?? false
        group.cancelAll()
        return elapsed
    }
}
