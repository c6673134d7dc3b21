using System.Text;

namespace GameSystem.Mesh.Generators.Emitting;

/// <summary>Writes source text with indentation that follows the braces it opens and closes.</summary>
internal sealed class IndentedWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public IndentedWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _depth * 4);
        }

        _text.Append(line).Append('\n');
        return this;
    }

    public IndentedWriter Open(string line)
    {
        Line(line);
        Line("{");
        _depth++;
        return this;
    }

    public IndentedWriter Close(string suffix = "")
    {
        _depth--;
        return Line("}" + suffix);
    }

    public void Push() => _depth++;

    public void Pop() => _depth--;

    public IndentedWriter Summary(string text)
    {
        if (text.Length > 0)
        {
            Line("/// <summary>" + Escape(text) + "</summary>");
        }

        return this;
    }

    public override string ToString() => _text.ToString();

    public static string Escape(string text) =>
        text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    public static string Literal(string text) =>
        "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    
}
