/// Why a stored answer no longer counts. `answer.removed_by` holds who removed it (a facilitator's or its
/// author's name, `!answers remove`), or ``branchChanged`` when the run set it aside by itself.
public enum AnswerRemoval {
    /// Set aside by the run: an earlier answer was changed and the run no longer passes this question.
    public static let branchChanged = "(branch)"

    /// How a removed answer's note reads (`(removed by Ana)`, `(set aside: an earlier answer changed)`); nil
    /// `removedBy`: the answer was replaced by a newer one. `escape` applies to the name only (Markdown).
    public static func note(_ removedBy: String?, _ language: Language, escape: (String) -> String = { $0 }) -> String {
        switch removedBy {
        case nil: language.pick("(replaced)", "(remplacée)")
        case branchChanged?: language.pick("(set aside: an earlier answer changed)", "(écartée : une réponse précédente a changé)")
        case let by?: language.pick("(removed by \(escape(by)))", "(retirée par \(escape(by)))")
        }
    }
}
