using System.Collections.Immutable;
using GameSystem.LanguageSystem.V1;
using Rewrite = GameSystem.Services.LanguageSystem.Internal.SpeechStyleEngine.Rewrite;

namespace GameSystem.Services.LanguageSystem.Internal;

/// <summary>
/// The built-in register transforms. Only English has them so far; for other languages a
/// register changes nothing and a style's own rules do the work. Order matters: longer
/// phrases come before the words they contain (<c>you are</c> before <c>you</c>).
/// </summary>
internal static class BuiltinRegisters
{
    private static readonly ImmutableArray<Rewrite> EnglishFormal = Words(
        ("can't", "cannot"), ("won't", "will not"), ("shan't", "shall not"), ("ain't", "is not"),
        ("don't", "do not"), ("doesn't", "does not"), ("didn't", "did not"), ("isn't", "is not"),
        ("aren't", "are not"), ("wasn't", "was not"), ("weren't", "were not"), ("haven't", "have not"),
        ("hasn't", "has not"), ("hadn't", "had not"), ("wouldn't", "would not"), ("shouldn't", "should not"),
        ("couldn't", "could not"), ("mustn't", "must not"), ("I'm", "I am"), ("you're", "you are"),
        ("we're", "we are"), ("they're", "they are"), ("it's", "it is"), ("that's", "that is"),
        ("there's", "there is"), ("what's", "what is"), ("he's", "he is"), ("she's", "she is"),
        ("let's", "let us"), ("I've", "I have"), ("you've", "you have"), ("we've", "we have"),
        ("they've", "they have"), ("I'll", "I will"), ("you'll", "you will"), ("he'll", "he will"),
        ("she'll", "she will"), ("we'll", "we will"), ("they'll", "they will"), ("it'll", "it will"),
        ("I'd", "I would"), ("you'd", "you would"), ("we'd", "we would"), ("they'd", "they would"),
        ("gonna", "going to"), ("wanna", "want to"), ("gotta", "have to"), ("kinda", "kind of"),
        ("y'all", "you all"), ("yeah", "yes"), ("yep", "yes"), ("yup", "yes"), ("nope", "no"));

    private static readonly ImmutableArray<Rewrite> EnglishInformal =
    [
        .. Words(
            ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("is not", "isn't"),
            ("are not", "aren't"), ("was not", "wasn't"), ("were not", "weren't"), ("have not", "haven't"),
            ("has not", "hasn't"), ("cannot", "can't"), ("can not", "can't"), ("will not", "won't"),
            ("would not", "wouldn't"), ("should not", "shouldn't"), ("could not", "couldn't"),
            ("I am", "I'm"), ("you are", "you're"), ("we are", "we're"), ("they are", "they're"),
            ("it is", "it's"), ("that is", "that's"), ("let us", "let's"), ("I will", "I'll"),
            ("you will", "you'll"), ("we will", "we'll"), ("want to", "wanna"), ("yes", "yeah")),

        // `going to` + verb only: "I'm going to the market" keeps its destination.
        Rewrite.Builtin(
            @"(?<![\p{L}\p{N}_])going\s+to(?=\s+(?!(?:the|a|an|my|your|his|her|their|our|its|this|that|these|those|some|any|every|no|bed|school|work|church|town|market|sea|war|sleep)\b)\p{L})",
            "gonna"),
    ];

    private static readonly ImmutableArray<Rewrite> EnglishArchaic =
    [
        .. Words(
            ("you're", "thou art"), ("you are", "thou art"), ("are you", "art thou"), ("you were", "thou wert"),
            ("were you", "wert thou"), ("you have", "thou hast"), ("have you", "hast thou"), ("you do", "thou dost"),
            ("do you", "dost thou"), ("you will", "thou wilt"), ("will you", "wilt thou"), ("you shall", "thou shalt"),
            ("shall you", "shalt thou"), ("you can", "thou canst"), ("can you", "canst thou"),
            ("yourself", "thyself"), ("yours", "thine"), ("your", "thy"), ("does", "doth"), ("has", "hath")),

        // `you` as a subject (starting a sentence) is `thou`; elsewhere it is the object, `thee`.
        // (Protected parts such as a leading `<b>` are private-use characters here, so they count as space.)
        Rewrite.Builtin(@"(?<=^[\s\uE000-\uF8FF]*|[.!?][\s\uE000-\uF8FF]+)you(?![\p{L}\p{N}_]|['’]\p{L})", "thou"),
        Rewrite.Word("you", "thee"),
    ];

    /// <summary>The built-in rewrites of a register in a language; empty when it has none.</summary>
    public static ImmutableArray<Rewrite> For(string language, SpeechRegister register) => language switch
    {
        "en" => register switch
        {
            SpeechRegister.Formal => EnglishFormal,
            SpeechRegister.Informal => EnglishInformal,
            SpeechRegister.Archaic => EnglishArchaic,
            _ => [],
        },
        _ => [],
    };

    private static ImmutableArray<Rewrite> Words(params (string Match, string Replacement)[] words) =>
        [.. words.Select(w => Rewrite.Word(w.Match, w.Replacement))];
}
