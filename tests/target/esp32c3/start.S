/* Entry from the ROM's loader: our own stack, .bss zeroed, then main. */
    .section .text.rf_c3_start, "ax"
    .globl rf_c3_start
rf_c3_start:
    la sp, _stack_top
    la t0, _bss_start
    la t1, _bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call rf_c3_main
3:  j 3b
