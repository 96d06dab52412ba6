using YamlDotNet.RepresentationModel;

namespace Vmsplit.Cli.Tests;

/// <summary>The shipped Slurm and Kubernetes recipes run shard K of N with the scheduler's own index and count.</summary>
public sealed class ClusterRecipeTests
{
    [Fact]
    public void TheSlurmArrayTaskRunsItsShardWithTheArraysIndexAndCount()
    {
        string script = RepoFiles.Read("scripts/slurm/sweep-array.sbatch");
        Assert.Contains("--shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\" --resume", script, StringComparison.Ordinal);
        Assert.Contains("--out \"$OUT/shard-$SLURM_ARRAY_TASK_ID\"", script, StringComparison.Ordinal);
        Assert.Contains("bash scripts/slurm/ci-single-node.sh", RepoFiles.Read(".ci/run"), StringComparison.Ordinal);
    }

    [Fact]
    public void TheKubernetesJobIsIndexedWithAsManyCompletionsAsShards()
    {
        YamlStream y = new();
        y.Load(new StringReader(RepoFiles.Read("deploy/kubernetes/sweep-indexed-job.yaml")));
        YamlMappingNode root = (YamlMappingNode)y.Documents[0].RootNode;
        YamlMappingNode spec = (YamlMappingNode)root["spec"];
        Assert.Equal("Job", root["kind"].ToString());
        Assert.Equal("Indexed", spec["completionMode"].ToString());
        YamlMappingNode container = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)spec["template"])["spec"])["containers"])[0];
        string shards = ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().Single(e => e["name"].ToString() == "SHARDS")["value"].ToString();
        Assert.Equal(spec["completions"].ToString(), shards);
        string args = string.Join(" ", ((YamlSequenceNode)container["args"]).Select(a => a.ToString()));
        Assert.Contains("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\" --resume", args, StringComparison.Ordinal);
        Assert.Contains("vmsplit merge /results/shard-* --out /results/merged", RepoFiles.Read("deploy/kubernetes/sweep-merge-job.yaml"), StringComparison.Ordinal);
    }
}
