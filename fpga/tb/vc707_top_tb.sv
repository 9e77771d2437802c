// SPDX-License-Identifier: Apache-2.0
// Self-checking smoke test of vc707_top: bit-bangs the host protocol on the UART pins and checks
// the bridge id, the core's ID register, a register write and read, the answer to garbage.

`timescale 1ns / 1ps
`default_nettype none

module vc707_top_tb #(
  parameter int ClkHz = 100_000_000,  // simulated clock (10 ns)
  parameter int Baud  = 12_500_000    // 8 clocks per bit
);

  localparam int BitNs = 1_000_000_000 / Baud;

  logic       clk = 1'b0;
  logic       btn = 1'b1;
  logic       rx = 1'b1;  // into the FPGA
  logic       tx;         // out of the FPGA
  logic [7:0] led;
  int         errors = 0;

  always #5 clk = ~clk;

  vc707_top #(
    .ClkHz        (ClkHz),
    .Baud         (Baud),
    .HeartbeatLog2(4),
    .ActivityLog2 (4),
    .MaxC         (32),
    .WRows        (64),
    .EngWRows     (64),
    .ThRows       (16),
    .Lanes        (8)
  ) dut (
    .sys_clk_p_i(clk),
    .sys_clk_n_i(~clk),
    .cpu_reset_i(btn),
    .uart_rx_i  (rx),
    .uart_tx_o  (tx),
    .led_o      (led)
  );

  task automatic send_byte(input logic [7:0] b);
    rx = 1'b0;
    #(BitNs);
    for (int i = 0; i < 8; i++) begin
      rx = b[i];
      #(BitNs);
    end
    rx = 1'b1;
    #(BitNs);
  endtask

  task automatic recv_byte(output logic [7:0] b);
    int waited = 0;
    // Poll for the start bit in steps of 1/8 bit, with a timeout.
    while (tx !== 1'b0) begin
      #(BitNs / 8);
      waited++;
      if (waited > 8 * 4000) $fatal(1, "FAIL: no reply byte");
    end
    #(BitNs / 2 - BitNs / 16);
    for (int i = 0; i < 8; i++) begin
      #(BitNs);
      b[i] = tx;
    end
    #(BitNs);
  endtask

  task automatic expect_bytes(input string what, input logic [7:0] exp [], input int n);
    logic [7:0] got;
    for (int i = 0; i < n; i++) begin
      recv_byte(got);
      if (got !== exp[i]) begin
        $display("FAIL: %s byte %0d: got %02x, expected %02x", what, i, got, exp[i]);
        errors++;
      end
    end
  endtask

  initial begin
    logic [7:0] exp [];
    repeat (10) @(posedge clk);
    btn = 1'b0;
    repeat (40) @(posedge clk);

    // PING: ACK + "NUB" + version 1
    send_byte(8'h50);
    exp = '{8'h06, 8'h4E, 8'h55, 8'h42, 8'h01};
    expect_bytes("PING", exp, 5);

    // READ ID (0x000): ACK + 0x4E524C31 little-endian
    send_byte(8'h52); send_byte(8'h00); send_byte(8'h00);
    exp = '{8'h06, 8'h31, 8'h4C, 8'h52, 8'h4E};
    expect_bytes("READ ID", exp, 5);

    // WRITE CTRL (0x008) = CLEAR, then READ STATUS (0x00C): idle, nothing done, no error
    send_byte(8'h57); send_byte(8'h08); send_byte(8'h00);
    send_byte(8'h02); send_byte(8'h00); send_byte(8'h00); send_byte(8'h00);
    exp = '{8'h06};
    expect_bytes("WRITE CTRL", exp, 1);
    send_byte(8'h52); send_byte(8'h0C); send_byte(8'h00);
    exp = '{8'h06, 8'h00, 8'h00, 8'h00, 8'h00};
    expect_bytes("READ STATUS", exp, 5);

    // Garbage: NAK + unknown command
    send_byte(8'hA7);
    exp = '{8'h15, 8'h01};
    expect_bytes("garbage", exp, 2);

    if (led[4] !== 1'b0) begin
      $display("FAIL: link error LED lit");
      errors++;
    end
    if (errors == 0) $display("PASS: vc707_top smoke test");
    else $fatal(1, "FAIL: %0d errors", errors);
    $finish;
  end

endmodule : vc707_top_tb

`default_nettype wire
