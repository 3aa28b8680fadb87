// Foundation loaded and used (a file read), nothing else.
import Foundation

let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
print("Foundation only: " + status.split(separator: "\n").filter { $0.hasPrefix("VmRSS") || $0.hasPrefix("RssFile") }.joined(separator: ", "))
