using System.Text;
using System.Text.RegularExpressions;

namespace Unpacker.Storage.Filters;

/// <summary>Reads one filter (a comma-separated conjunction of selectors) from its text.</summary>
internal sealed class FilterReader(string text, FilterFields? fields)
{
    private int _position;

    public IReadOnlyList<Selector> ReadConjunction()
    {
        var selectors = new List<Selector>();
        do
        {
            selectors.Add(ReadSelector());
        }
        while (TryConsume(','));

        SkipSpaces();
        if (_position < text.Length)
        {
            throw Invalid("expected ',' or the end");
        }

        return selectors;
    }

    private Selector ReadSelector()
    {
        var fieldPath = new List<string> { ReadPart() };
        while (Peek() == '.')
        {
            _position++;
            fieldPath.Add(ReadPart());
        }

        if (fields is not null && !fields.Contains(fieldPath[0]))
        {
            throw Invalid($"unknown field '{fieldPath[0]}' ({fields.Describe()})");
        }

        SkipSpaces();
        if (_position >= text.Length || Peek() == ',')
        {
            return new Selector(fieldPath, SelectorOperator.Present, string.Empty, null);
        }

        var op = text.Length - _position >= 2 ? text.Substring(_position, 2) : string.Empty;
        var parsed = op switch
        {
            "==" => SelectorOperator.Equal,
            "!=" => SelectorOperator.NotEqual,
            "~=" => SelectorOperator.Matches,
            _ => throw Invalid("expected ==, != or ~="),
        };
        _position += 2;
        var value = ReadValue();
        return new Selector(fieldPath, parsed, value, parsed == SelectorOperator.Matches ? Compile(value) : null);
    }

    private Regex Compile(string pattern)
    {
        try
        {
            // The timeout bounds what a hostile pattern can cost a walk.
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException exception)
        {
            throw new InvalidArgumentException($"invalid filter '{text}': bad regular expression '{pattern}': {exception.Message}", exception);
        }
    }

    private bool TryConsume(char c)
    {
        SkipSpaces();
        if (Peek() != c)
        {
            return false;
        }

        _position++;
        return true;
    }

    private InvalidArgumentException Invalid(string reason) =>
        new($"invalid filter '{text}' at position {_position}: {reason}");

    private string ReadPart()
    {
        SkipSpaces();
        if (Peek() == '"')
        {
            return ReadQuoted('"');
        }

        // A bare part may hold spaces ("labels .a" and "labels.my key" both parse); only its ends are trimmed.
        var start = _position;
        while (_position < text.Length && text[_position] is not ('.' or ',' or '=' or '!' or '~' or '"'))
        {
            _position++;
        }

        var part = text[start.._position].Trim();
        return part.Length > 0 ? part : throw Invalid("expected a field name");
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
}
