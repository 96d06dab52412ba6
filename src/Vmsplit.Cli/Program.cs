using Vmsplit.Cli;

return VmsplitCli.Run(args, Console.Out, Console.Error);
