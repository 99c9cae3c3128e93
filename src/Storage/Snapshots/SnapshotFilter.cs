using System.Text;
using System.Text.RegularExpressions;

namespace Unpacker.Storage.Snapshots;

/// <summary>
/// containerd's filter syntax for Walk: each string is a conjunction of selectors separated by commas
/// (<c>kind==active,labels."containerd.io/gc.root"==x</c>); several strings are alternatives. Fields are
/// <c>name</c>, <c>parent</c>, <c>kind</c> and <c>labels.&lt;key&gt;</c>; operators <c>==</c>, <c>!=</c>,
/// <c>~=</c> (regular expression) or none (the field is present).
/// </summary>
public sealed class SnapshotFilter
{
    private readonly IReadOnlyList<IReadOnlyList<Selector>> _alternatives;

    private SnapshotFilter(IReadOnlyList<IReadOnlyList<Selector>> alternatives) => _alternatives = alternatives;

    /// <summary>Parses the filters; a malformed one is an <see cref="InvalidArgumentException"/> naming it.</summary>
    public static SnapshotFilter Parse(IReadOnlyList<string>? filters)
    {
        var alternatives = new List<IReadOnlyList<Selector>>();
        foreach (var filter in filters ?? [])
        {
            if (!string.IsNullOrWhiteSpace(filter))
            {
                alternatives.Add(new Parser(filter).ParseConjunction());
            }
        }

        return new SnapshotFilter(alternatives);
    }

    public bool Matches(SnapshotInfo info) =>
        _alternatives.Count == 0 || _alternatives.Any(all => all.All(selector => selector.Matches(info)));

    private enum Operator
    {
        Present,
        Equal,
        NotEqual,
        Matches,
    }

    private sealed record Selector(IReadOnlyList<string> FieldPath, Operator Operator, string Value, Regex? Pattern)
    {
        public bool Matches(SnapshotInfo info)
        {
            var (value, present) = Field(info);
            return Operator switch
            {
                Operator.Present => present,
                Operator.Equal => present && value == Value,
                Operator.NotEqual => value != Value,
                _ => present && Pattern!.IsMatch(value),
            };
        }

        private (string Value, bool Present) Field(SnapshotInfo info)
        {
            switch (FieldPath[0])
            {
                case "name":
                    return (info.Name, info.Name.Length > 0);
                case "parent":
                    return (info.Parent ?? "", !string.IsNullOrEmpty(info.Parent));
                case "kind":
                    return (info.Kind.ToString().ToLowerInvariant(), true);
                case "labels" when FieldPath.Count > 1:
                    var key = string.Join('.', FieldPath.Skip(1));
                    return info.Labels.TryGetValue(key, out var label) ? (label, true) : ("", false);
                default:
                    return ("", false);
            }
        }
    }

    private sealed class Parser(string text)
    {
        private int _position;

        public IReadOnlyList<Selector> ParseConjunction()
        {
            var selectors = new List<Selector>();
            while (true)
            {
                selectors.Add(ParseSelector());
                SkipSpaces();
                if (_position == text.Length)
                {
                    return selectors;
                }

                Expect(',');
            }
        }

        private Selector ParseSelector()
        {
            var path = new List<string> { ParseToken(stopAtDot: true) };
            while (Peek() == '.')
            {
                _position++;
                path.Add(ParseToken(stopAtDot: true));
            }

            SkipSpaces();
            if (_position == text.Length || Peek() == ',')
            {
                return new Selector(path, Operator.Present, "", null);
            }

            var op = text.AsSpan(_position).Length >= 2 ? text.Substring(_position, 2) : "";
            var kind = op switch
            {
                "==" => Operator.Equal,
                "!=" => Operator.NotEqual,
                "~=" => Operator.Matches,
                _ => throw Invalid($"expected ==, != or ~= at {_position}"),
            };
            _position += 2;
            var value = ParseToken(stopAtDot: false);
            Regex? pattern = null;
            if (kind == Operator.Matches)
            {
                try
                {
                    pattern = new Regex(value, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException exception)
                {
                    throw new InvalidArgumentException($"invalid filter {text}: bad regular expression {value}: {exception.Message}", exception);
                }
            }

            return new Selector(path, kind, value, pattern);
        }

        private string ParseToken(bool stopAtDot)
        {
            SkipSpaces();
            if (Peek() == '"')
            {
                return ParseQuoted();
            }

            var start = _position;
            while (_position < text.Length && text[_position] is not (',' or '=' or '!' or '~' or '"') && !(stopAtDot && text[_position] == '.'))
            {
                _position++;
            }

            var token = text[start.._position].Trim();
            return token.Length > 0 || !stopAtDot ? token : throw Invalid($"expected a field name at {start}");
        }

        private string ParseQuoted()
        {
            _position++;
            var value = new StringBuilder();
            while (_position < text.Length && text[_position] != '"')
            {
                if (text[_position] == '\\' && _position + 1 < text.Length)
                {
                    _position++;
                }

                value.Append(text[_position++]);
            }

            Expect('"');
            return value.ToString();
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private void SkipSpaces()
        {
            while (_position < text.Length && text[_position] == ' ')
            {
                _position++;
            }
        }

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw Invalid($"expected '{c}' at {_position}");
            }

            _position++;
        }

        private InvalidArgumentException Invalid(string why) => new($"invalid filter {text}: {why}");
    }
}
