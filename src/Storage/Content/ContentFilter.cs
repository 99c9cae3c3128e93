using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Unpacker.Storage.Content;

/// <summary>
/// containerd's filter syntax over content: a list of filters any of which may match, each a comma-separated list
/// of selectors that must all match. A selector is a field path (<c>digest</c>, <c>size</c>, <c>labels.&lt;key&gt;</c>,
/// parts optionally quoted: <c>labels."containerd.io/gc.root"</c>) alone (present) or with <c>==</c>, <c>!=</c> or
/// <c>~=</c> (regular expression) and a value, bare, <c>"quoted"</c> or <c>/slashed/</c>.
/// </summary>
public sealed class ContentFilter
{
    private readonly IReadOnlyList<IReadOnlyList<Selector>> _alternatives;

    private ContentFilter(IReadOnlyList<IReadOnlyList<Selector>> alternatives) => _alternatives = alternatives;

    /// <summary>Parses every filter; <see cref="InvalidArgumentException"/> names the one that is malformed.</summary>
    public static ContentFilter Parse(IReadOnlyList<string> filters) =>
        new(filters.Where(f => !string.IsNullOrWhiteSpace(f)).Select(ParseOne).ToList());

    /// <summary>
    /// Labels every match must have (key, and value when compared with <c>==</c>), for the database to narrow the
    /// walk; empty when the filters are alternatives or name only other fields. <see cref="Matches"/> stays the judge.
    /// </summary>
    public IReadOnlyList<(string Key, string? Value)> RequiredLabels =>
        _alternatives.Count != 1
            ? []
            : [.. _alternatives[0]
                .Where(s => s.FieldPath[0] == "labels" && s.Operator is Operator.Present or Operator.Equal)
                .Select(s => (string.Join('.', s.FieldPath.Skip(1)), s.Operator == Operator.Equal ? s.Value : (string?)null))];

    public bool Matches(ContentInfo info) =>
        _alternatives.Count == 0 || _alternatives.Any(selectors => selectors.All(s => s.Matches(Lookup(info, s.FieldPath))));

    private static string? Lookup(ContentInfo info, IReadOnlyList<string> fieldPath) =>
        fieldPath[0] switch
        {
            "digest" when fieldPath.Count == 1 => info.Digest.ToString(),
            "size" when fieldPath.Count == 1 => info.Size.ToString(CultureInfo.InvariantCulture),
            "labels" when fieldPath.Count > 1 => info.Labels.TryGetValue(string.Join('.', fieldPath.Skip(1)), out var value) ? value : null,
            _ => null,
        };

    private static List<Selector> ParseOne(string filter)
    {
        var reader = new Reader(filter);
        var selectors = new List<Selector>();
        do
        {
            selectors.Add(reader.ReadSelector());
        }
        while (reader.TryConsume(','));

        if (!reader.AtEnd)
        {
            throw reader.Invalid("expected ',' or the end");
        }

        return selectors;
    }

    private enum Operator
    {
        Present,
        Equal,
        NotEqual,
        Matches,
    }

    private sealed record Selector(IReadOnlyList<string> FieldPath, Operator Operator, string Value, Regex? Pattern)
    {
        public bool Matches(string? actual) => Operator switch
        {
            Operator.Present => actual is not null,
            Operator.Equal => actual == Value,
            Operator.NotEqual => actual != Value,
            _ => actual is not null && Pattern!.IsMatch(actual),
        };
    }

    private sealed class Reader(string text)
    {
        private int _position;

        public bool AtEnd
        {
            get
            {
                SkipSpaces();
                return _position >= text.Length;
            }
        }

        public Selector ReadSelector()
        {
            var fieldPath = new List<string> { ReadPart() };
            while (Peek() == '.')
            {
                _position++;
                fieldPath.Add(ReadPart());
            }

            if (fieldPath[0] is not ("digest" or "size" or "labels"))
            {
                throw Invalid($"unknown field '{fieldPath[0]}' (content has digest, size and labels)");
            }

            SkipSpaces();
            if (_position >= text.Length || Peek() == ',')
            {
                return new Selector(fieldPath, Operator.Present, string.Empty, null);
            }

            var op = text.AsSpan(_position).Length >= 2 ? text.Substring(_position, 2) : string.Empty;
            var parsed = op switch
            {
                "==" => Operator.Equal,
                "!=" => Operator.NotEqual,
                "~=" => Operator.Matches,
                _ => throw Invalid("expected ==, != or ~="),
            };
            _position += 2;
            var value = ReadValue();
            Regex? pattern = null;
            if (parsed == Operator.Matches)
            {
                try
                {
                    pattern = new Regex(value, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException exception)
                {
                    throw new InvalidArgumentException($"invalid filter '{text}': bad regular expression '{value}': {exception.Message}", exception);
                }
            }

            return new Selector(fieldPath, parsed, value, pattern);
        }

        public bool TryConsume(char c)
        {
            SkipSpaces();
            if (Peek() != c)
            {
                return false;
            }

            _position++;
            return true;
        }

        public InvalidArgumentException Invalid(string reason) =>
            new($"invalid filter '{text}' at position {_position}: {reason}");

        private string ReadPart()
        {
            SkipSpaces();
            if (Peek() == '"')
            {
                return ReadQuoted('"');
            }

            var start = _position;
            while (_position < text.Length && !IsDelimiter(text[_position]))
            {
                _position++;
            }

            return _position > start ? text[start.._position] : throw Invalid("expected a field name");
        }

        private string ReadValue()
        {
            SkipSpaces();
            if (Peek() is '"' or '/')
            {
                return ReadQuoted(text[_position]);
            }

            var start = _position;
            while (_position < text.Length && text[_position] != ',')
            {
                _position++;
            }

            return text[start.._position].Trim();
        }

        private string ReadQuoted(char quote)
        {
            _position++;
            var value = new StringBuilder();
            while (_position < text.Length && text[_position] != quote)
            {
                // In a /regex/ only "\/" is ours to unescape; "\d" and friends belong to the expression.
                if (text[_position] == '\\' && _position + 1 < text.Length && (quote != '/' || text[_position + 1] == '/'))
                {
                    _position++;
                }

                value.Append(text[_position++]);
            }

            if (_position >= text.Length)
            {
                throw Invalid($"unterminated {quote}");
            }

            _position++;
            return value.ToString();
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private void SkipSpaces()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }

        private static bool IsDelimiter(char c) => c is '.' or ',' or '=' or '!' or '~' or '"' || char.IsWhiteSpace(c);
    }
}
