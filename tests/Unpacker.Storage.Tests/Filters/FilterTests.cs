using Unpacker.Storage.Filters;

namespace Unpacker.Storage.Tests.Filters;

public sealed class FilterTests
{
    private static readonly DictionaryAdaptor _blob = new(("name", "layer"), ("labels.kind", "config"), ("labels.containerd.io/gc.root", "2026"));

    private static bool Matches(params string[] filters) => Filter.Parse(filters).Matches(_blob);

    [Fact]
    public void No_filters_or_only_blank_ones_match_everything()
    {
        Assert.True(Filter.Parse(null).Matches(_blob));
        Assert.True(Matches("", "  "));
    }

    [Theory]
    [InlineData("name", true)]
    [InlineData("owner", false)]
    [InlineData("name==layer", true)]
    [InlineData("name==plain", false)]
    [InlineData("owner==", false)]
    [InlineData("name!=plain", true)]
    [InlineData("name!=layer", false)]
    [InlineData("owner!=x", true)]
    [InlineData("name~=^la", true)]
    [InlineData("name~=^pl", false)]
    [InlineData("owner~=.*", false)]
    public void Each_operator_matches_as_containerd_does(string filter, bool expected) =>
        Assert.Equal(expected, Matches(filter));

    [Fact]
    public void Inequality_compares_an_absent_field_as_the_empty_string()
    {
        Assert.False(Matches("owner!=\"\""));
        Assert.True(Matches("name!=\"\""));
    }

    [Fact]
    public void Commas_join_selectors_that_must_all_match_and_several_filters_are_alternatives()
    {
        Assert.True(Matches("name==layer, labels.kind==config"));
        Assert.False(Matches("name==layer,labels.kind==other"));
        Assert.True(Matches("name==plain", "labels.kind==config"));
        Assert.False(Matches("name==plain", "labels.kind==other"));
    }

    [Fact]
    public void Field_parts_may_be_quoted_or_bare_with_dots_and_slashes()
    {
        Assert.True(Matches("labels.\"containerd.io/gc.root\"==2026"));
        Assert.True(Matches("labels.containerd.io/gc.root==\"2026\""));
        Assert.True(Filter.Parse(["labels.\"a\\\"b\"==v"]).Matches(new DictionaryAdaptor(("labels.a\"b", "v"))));
    }

    [Fact]
    public void A_bare_value_runs_to_the_next_comma_and_is_trimmed()
    {
        var adaptor = new DictionaryAdaptor(("labels.expr", "a=b!c~d"), ("name", "x"));

        Assert.True(Filter.Parse(["labels.expr== a=b!c~d ,name==x"]).Matches(adaptor));
    }

    [Fact]
    public void A_slashed_regular_expression_unescapes_only_its_slashes()
    {
        var adaptor = new DictionaryAdaptor(("path", "a/b1"));

        Assert.True(Filter.Parse([@"path~=/^a\/b\d$/"]).Matches(adaptor));
        Assert.False(Filter.Parse([@"path~=/^a\/b\D$/"]).Matches(adaptor));
    }

    [Theory]
    [InlineData("labels.a=")]
    [InlineData("labels.a=>b")]
    [InlineData("labels.\"unterminated")]
    [InlineData("labels.a~=/(/")]
    [InlineData("name==\"x\" y")]
    [InlineData("name,")]
    [InlineData(".name")]
    public void A_malformed_filter_is_InvalidArgument_naming_it(string filter)
    {
        var error = Assert.Throws<InvalidArgumentException>(() => Filter.Parse(["name", filter]));

        Assert.Contains($"'{filter}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_outside_the_known_ones_is_InvalidArgument_listing_them()
    {
        var fields = new FilterFields("content", ["digest", "size", "labels"]);

        var error = Assert.Throws<InvalidArgumentException>(() => Filter.Parse(["labels.a,owner==me"], fields));

        Assert.Contains("unknown field 'owner' (content has digest, size and labels)", error.Message, StringComparison.Ordinal);
        Assert.True(Filter.Parse(["labels.a,size==1"], fields).Matches(new DictionaryAdaptor(("labels.a", ""), ("size", "1"))));
    }

    [Fact]
    public void Required_fields_are_the_present_and_equal_selectors_of_a_single_filter()
    {
        var required = Filter.Parse(["labels.a,labels.b==1,labels.c!=2,labels.d~=x"]).RequiredFields;

        Assert.Equal(["labels.a=", "labels.b=1"], required.Select(r => $"{string.Join('.', r.FieldPath)}={r.Value}"));
        Assert.Empty(Filter.Parse(["labels.a", "labels.b"]).RequiredFields);
    }
}
