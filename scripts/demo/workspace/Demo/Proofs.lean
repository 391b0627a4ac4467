import Demo.Basic

theorem four_eq : four = 4 := by decide
theorem answer_eq : answer = 42 := by rfl
theorem mul_comm_small : 3 * 5 = 5 * 3 := by omega
example : two + two = four := by simp
