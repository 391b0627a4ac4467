import Demo.Basic

-- An agent's attempts: one wrong, one unfinished, one right.
theorem attempt1 : four = 5 := by decide
theorem attempt2 : answer = 42 := by sorry
theorem attempt3 : answer = 42 := by decide
