// The suite starts whole stacks of service processes and measures them: on two cores, test classes running
// side by side would starve each other's deadlines and spoil the load figures.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
