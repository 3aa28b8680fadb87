import Foundation
import Testing
import WebFetch
@testable import KnowledgeBase

/// A web page by address: robots.txt obeyed, HTML only, size and time limits, then imported under its address.
struct WebPageImportTests {
    /// Answers from a table of addresses; anything else is a 404.
    struct FakeSite: WebTransport {
        var pages: [String: WebResponse]
        var failure: WebPageFetcher.Failure?

        func get(_ url: URL, maximumBytes: Int, timeout: TimeInterval) throws(WebPageFetcher.Failure) -> WebResponse {
            if let failure { throw failure }
            guard let page = pages[url.absoluteString] else { return WebResponse(status: 404, contentType: nil, body: Data(), url: url) }
            if page.body.count > maximumBytes { throw .tooLarge(maximumBytes) }
            return page
        }
    }

    static func html(_ url: String, _ html: String, type: String = "text/html; charset=utf-8") -> (String, WebResponse) {
        (url, WebResponse(status: 200, contentType: type, body: Data(html.utf8), url: URL(string: url)!))
    }

    static let page = html(
        "https://example.org/projects/orchard",
        """
        <html><head><title>The village orchard</title></head><body>
        <h1>The village orchard</h1><h2>Who looks after it</h2>
        <p>Volunteers prune the pear trees in February and gather the fruit in September.</p></body></html>
        """)

    @Test func aPageIsImportedUnderItsAddressAndAnswersCiteIt() throws {
        let fetcher = WebPageFetcher(transport: FakeSite(pages: Dictionary(uniqueKeysWithValues: [Self.page])))
        let page = try fetcher.fetch("https://example.org/projects/orchard")
        let index = try makeIndex()
        #expect(try index.importWebPage(html: page.html, url: page.url))
        #expect(try !index.importWebPage(html: page.html, url: page.url), "the same page again changes nothing")
        let best = try #require(try index.search("when are the pear trees pruned?", limit: 1).results.first)
        #expect(best.document == "The village orchard")
        #expect(best.url == "https://example.org/projects/orchard")
        #expect(best.source == "https://example.org/projects/orchard")
    }

    @Test func robotsTxtIsObeyed() throws {
        let robots = Self.html(
            "https://example.org/robots.txt",
            "User-agent: *\nDisallow: /projects/\nAllow: /projects/public\n\nUser-agent: OtherBot\nDisallow: /\n",
            type: "text/plain")
        let site = FakeSite(pages: Dictionary(uniqueKeysWithValues: [robots, Self.page]))
        #expect(throws: WebPageFetcher.Failure.disallowedByRobots("https://example.org/robots.txt")) {
            try WebPageFetcher(transport: site).fetch("https://example.org/projects/orchard")
        }
        let rules = RobotsRules(String(decoding: robots.1.body, as: UTF8.self), userAgent: WebPageFetcher.userAgent)
        #expect(rules.allows("/projects/public/orchard"), "the longer Allow wins")
        #expect(rules.allows("/about"))
        #expect(!RobotsRules("User-agent: fabrique\nDisallow: /*.pdf$\n", userAgent: "Fabrique").allows("/docs/a.pdf"))
        #expect(RobotsRules("User-agent: fabrique\nDisallow: /*.pdf$\n", userAgent: "Fabrique").allows("/docs/a.pdf.html"))
    }

    @Test func aSiteWithoutRobotsTxtMayBeRead() throws {
        let site = FakeSite(pages: Dictionary(uniqueKeysWithValues: [Self.page]))
        #expect(try WebPageFetcher(transport: site).fetch("https://example.org/projects/orchard").url.hasSuffix("/orchard"))
    }

    @Test func limitsAndContentTypeAreEnforcedWithAClearReason() throws {
        let pdf = Self.html("https://example.org/guide.pdf", "%PDF-1.4", type: "application/pdf")
        let big = Self.html("https://example.org/big", String(repeating: "<p>hedge</p>", count: 1_000))
        let site = FakeSite(pages: Dictionary(uniqueKeysWithValues: [pdf, big]))
        #expect(throws: WebPageFetcher.Failure.notHTML("application/pdf")) {
            try WebPageFetcher(transport: site).fetch("https://example.org/guide.pdf")
        }
        #expect(throws: WebPageFetcher.Failure.tooLarge(1_000)) {
            try WebPageFetcher(transport: site, maximumBytes: 1_000).fetch("https://example.org/big")
        }
        #expect(throws: WebPageFetcher.Failure.httpStatus(404)) {
            try WebPageFetcher(transport: site).fetch("https://example.org/missing")
        }
        #expect(throws: WebPageFetcher.Failure.invalidAddress) { try WebPageFetcher(transport: site).fetch("ftp://example.org/x") }
        #expect(throws: WebPageFetcher.Failure.timedOut) {
            try WebPageFetcher(transport: FakeSite(pages: [:], failure: .timedOut)).fetch("https://example.org/slow")
        }
        #expect(WebPageFetcher.Failure.disallowedByRobots("https://example.org/robots.txt").description.contains("robots.txt"))
    }
}
