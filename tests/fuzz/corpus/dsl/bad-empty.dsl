# no model here
x = 1
