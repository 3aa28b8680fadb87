// Foundation, GRDB (a WAL database written and read) and Yams (a document parsed): what Fabrique links
// besides FoundationNetworking, each used once.
import Foundation
import GRDB
import Yams

let path = NSTemporaryDirectory() + "rss-floor-\(getpid()).sqlite"
defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
let db = try DatabasePool(path: path)
try db.write { try $0.execute(sql: "CREATE TABLE t(x TEXT); INSERT INTO t VALUES ('a')") }
let rows = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM t") } ?? 0
let yaml = try Yams.load(yaml: "steps: [1, 2]\ntitle: text\n")
let json = try JSONSerialization.data(withJSONObject: ["rows": rows, "at": Date().timeIntervalSince1970])
precondition(rows == 1 && yaml != nil && !json.isEmpty)
let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
print("Foundation + GRDB + Yams: " + status.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("RssFile") }.joined(separator: ", "))
