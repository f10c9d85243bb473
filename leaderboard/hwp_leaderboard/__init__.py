"""The hwp-bench leaderboard: submissions, hidden-test scoring, web page."""
