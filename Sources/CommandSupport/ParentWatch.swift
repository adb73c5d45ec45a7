import Foundation
import Logging

/// For processes another process starts and owns (`--spawn-workers`, `--spawn-shards`): exit when that process is
/// gone, so that a killed coordinator leaves nothing behind.
public enum ParentWatch {
    /// Watches the parent process twice a second; when it is gone (this process was handed to another parent), logs
    /// that `what` (e.g. "worker") is exiting too and exits with status 3.
    public static func exitWhenOrphaned(_ what: String, logger: Logger) {
        let parent = getppid()
        let thread = Thread {
            while getppid() == parent { usleep(500_000) }
            logger.warning("the process that started this \(what) (pid \(parent)) has exited; exiting too")
            Foundation.exit(3)
        }
        thread.start()
    }
}
