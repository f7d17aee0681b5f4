"""Many clips: jobs, the jobs file, engines (local, Ray), shots."""
